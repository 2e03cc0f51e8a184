/**
 * The default VPC's subnets, kept only where Fargate runs tasks (AWS_Fargate-Regions.html lists
 * the zone IDs of the regions where it is limited). The rules fake names the zones a test needs;
 * moto shows what a real region's default VPC looks like.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { findDefaultVpc } from "./default-vpc.js";
import { FakeAws } from "./testing/fake-aws/fake-aws.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";
import { connectAws } from "./sdk.js";

let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

function deps(fake: FakeAws, region: string) {
  const ports = fake.ports();
  return {
    ec2: ports.ec2,
    target: { region, profile: "fake" },
    signal: new AbortController().signal,
  };
}

describe("findDefaultVpc in Fargate's zones", () => {
  it("Given us-west-1 with a default subnet in usw1-az2, When the default VPC is read, Then that subnet is left out", async () => {
    // Given
    const fake = new FakeAws({
      zones: [
        { name: "us-west-1a", id: "usw1-az1" },
        { name: "us-west-1b", id: "usw1-az2" },
        { name: "us-west-1c", id: "usw1-az3" },
      ],
    });
    // When
    const network = await findDefaultVpc(deps(fake, "us-west-1"));
    // Then
    expect(network.subnetIds).toEqual(["subnet-1", "subnet-3"]);
  });

  it("Given ap-northeast-1 with only one zone Fargate serves, When the default VPC is read, Then the error names the zones Fargate does not serve", async () => {
    // Given
    const fake = new FakeAws({
      zones: [
        { name: "ap-northeast-1a", id: "apne1-az1" },
        { name: "ap-northeast-1b", id: "apne1-az3" },
      ],
    });
    // When
    const failure = await findDefaultVpc(deps(fake, "ap-northeast-1")).catch(
      (error: unknown) => error,
    );
    // Then
    expect(failure).toBeInstanceOf(DomainError);
    expect((failure as DomainError).message).toContain(
      "Fargate is not offered in ap-northeast-1b (apne1-az3)",
    );
  });

  it.skipIf(!motoAvailable())(
    "Given moto's us-west-1 (zones usw1-az3 and usw1-az1), When the default VPC is read, Then both subnets are used",
    async () => {
      // Given
      moto ??= await startMoto();
      const ports = await connectAws("us-west-1", moto.awsEnv());
      // When
      const network = await findDefaultVpc({
        ec2: ports.ec2,
        target: ports.target,
        signal: new AbortController().signal,
      });
      // Then
      expect(network.subnetIds).toHaveLength(2);
    },
    30_000,
  );
});
