/**
 * The HTTPS template against the AWS rules fake's R11 (testing/fake-aws/RULES.md): moto accepts an
 * HTTPS listener without a certificate and a redirect without a status code or that loops; AWS
 * refuses them. The fake stands in for AWS because no account is reachable here.
 */
import { parseClusterConfig } from "@axon/config";
import { describe, expect, it } from "vitest";
import { generateClusterTemplate } from "./cluster-template.js";
import { FakeAws, listenerRefusal } from "./testing/fake-aws/fake-aws.js";

const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
const CONFIG = `cluster_name: web
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0
load_balancer: {certificate_arn: ${CERT}}
`;

type Template = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

function httpsTemplate(): Template {
  return generateClusterTemplate({
    config: parseClusterConfig(CONFIG, "cluster.yaml"),
    envName: "prod",
    defaultVpc: { vpcId: "vpc-1", subnetIds: ["subnet-1", "subnet-2"] },
  }) as unknown as Template;
}

async function create(template: Template): Promise<{ status?: string; reason?: string }> {
  const fake = new FakeAws();
  await fake.ports().cloudFormation.createStack({
    StackName: "axon-web",
    TemplateBody: JSON.stringify(template),
  });
  const stack = fake.stack("axon-web");
  return { status: stack?.status, reason: stack?.reason };
}

describe("the HTTPS cluster template and ELBv2's listener rules (R11)", () => {
  it("Given the generated HTTPS template, When the fake creates it, Then it is accepted", async () => {
    // Given / When / Then
    expect(await create(httpsTemplate())).toMatchObject({ status: "CREATE_COMPLETE" });
  });

  it("Given an HTTPS listener without its certificate, a redirect without a status code and one that loops, When checked, Then each is refused as AWS documents", async () => {
    // Given
    const noCertificate = httpsTemplate();
    delete noCertificate.Resources["HttpsListener"]?.Properties["Certificates"];
    const listener = httpsTemplate().Resources["Listener"]?.Properties ?? {};
    const [redirect] = listener["DefaultActions"] as Array<{
      RedirectConfig: Record<string, string>;
    }>;
    const { StatusCode: _dropped, ...withoutStatus } = redirect?.RedirectConfig ?? {};
    const loop = { StatusCode: "HTTP_301", Host: "#{host}", Query: "#{query}" };

    // When / Then
    expect(await create(noCertificate)).toEqual({
      status: "ROLLBACK_COMPLETE",
      reason:
        "The following resource(s) failed to create: [HttpsListener]. Rollback requested by user.",
    });
    expect(
      listenerRefusal({
        ...listener,
        DefaultActions: [{ Type: "redirect", RedirectConfig: withoutStatus }],
      }),
    ).toBe("a redirect's StatusCode must be HTTP_301 or HTTP_302");
    expect(
      listenerRefusal({
        ...listener,
        DefaultActions: [{ Type: "redirect", RedirectConfig: loop }],
      }),
    ).toMatch(/must change at least one of protocol, host, port or path/);
    expect(listenerRefusal(listener)).toBeUndefined();
  });
});
