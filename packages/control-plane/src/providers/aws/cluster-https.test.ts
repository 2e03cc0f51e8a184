/**
 * HTTPS and a domain on a real (moto) stack: the template `cluster up` generates for a cluster.yaml
 * with `load_balancer.certificate_arn` and `domain`, created through the same stack calls, then
 * read back. The ACM certificate and the hosted zone are made (and the records read) with boto3 on
 * the same moto server: the project has no ACM or Route 53 SDK client, and needs none at run time.
 */
import { spawnSync } from "node:child_process";
import type { Listener } from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseClusterConfig } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { retirePlainHttpRules } from "./api-deploy.js";
import { clusterRefs, endpointUrl } from "./api-names.js";
import { createClusterStack, describeClusterStack, type StackDeps } from "./cluster-stack.js";
import { clusterStackName, generateClusterTemplate } from "./cluster-template.js";
import { findDefaultVpc } from "./default-vpc.js";
import { connectAws } from "./sdk.js";
import { MOTO_IMAGE } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

/** Runs a boto3 snippet against moto; it prints one JSON value. */
function boto3(server: MotoServer, code: string): unknown {
  const run = spawnSync(
    "python3",
    [
      "-c",
      `import boto3, json\nkw = dict(region_name="us-east-1", endpoint_url="${server.url}")\n${code}`,
    ],
    { encoding: "utf8", env: { ...process.env, ...server.awsEnv() } },
  );
  if (run.status !== 0) throw new Error(`boto3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown;
}

describe.skipIf(!HAS_MOTO)(
  "a cluster with HTTPS and a domain on moto (skipped without moto)",
  () => {
    it("Given a certificate and a hosted zone, When the cluster stack is created, Then 443 is HTTPS with the TLS 1.2/1.3 policy, 80 redirects with 301, the alias A record points at the ALB, and API rules and endpoints use HTTPS and the domain", async () => {
      // Given
      moto = await startMoto();
      const { arn, zone } = boto3(
        moto,
        `arn = boto3.client("acm", **kw).request_certificate(DomainName="api.example.com")["CertificateArn"]
zone = boto3.client("route53", **kw).create_hosted_zone(Name="example.com", CallerReference="t")["HostedZone"]["Id"]
print(json.dumps({"arn": arn, "zone": zone}))`,
      ) as { arn: string; zone: string };
      const ports = await connectAws("us-east-1", moto.awsEnv());
      const config = parseClusterConfig(
        `cluster_name: web\nregion: us-east-1\nimage: ${MOTO_IMAGE}\nload_balancer:\n  certificate_arn: ${arn}\n  domain: api.example.com\n  hosted_zone_id: ${zone}\n`,
        "cluster.yaml",
      );
      const deps: StackDeps = {
        cloudFormation: ports.cloudFormation,
        target: ports.target,
        signal: new AbortController().signal,
        pollMs: 20,
        onResource: () => {},
      };
      const defaultVpc = await findDefaultVpc({ ...deps, ec2: ports.ec2 });
      const stackName = clusterStackName("web");

      // When
      await createClusterStack(deps, {
        stackName,
        templateBody: JSON.stringify(
          generateClusterTemplate({ config, envName: "prod", defaultVpc }),
        ),
        tags: { "axon:cluster": "web", "axon:env": "prod" },
      });
      const stack = await describeClusterStack(deps, stackName);

      // Then
      const outputs = stack?.outputs ?? {};
      // The ELB port has no DescribeListeners (nothing at run time needs it): boto3 reads them.
      const listeners = boto3(
        moto,
        `found = boto3.client("elbv2", **kw).describe_listeners(LoadBalancerArn="${outputs.LoadBalancerArn ?? ""}")["Listeners"]
print(json.dumps(found))`,
      ) as Listener[];
      const byPort = new Map(listeners.map((l) => [l.Port, l]));
      const https = byPort.get(443);
      expect(https?.Protocol).toBe("HTTPS");
      expect(https?.SslPolicy).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
      expect(https?.Certificates?.map((c) => c.CertificateArn)).toEqual([arn]);
      expect(https?.DefaultActions?.[0]?.Type).toBe("forward");
      expect(https?.ListenerArn).toBe(outputs.HttpsListenerArn);
      const redirect = byPort.get(80)?.DefaultActions?.[0];
      expect(redirect?.Type).toBe("redirect");
      expect(redirect?.RedirectConfig).toMatchObject({
        Protocol: "HTTPS",
        Port: "443",
        Host: "#{host}",
        Path: "/#{path}",
        Query: "#{query}",
        StatusCode: "HTTP_301",
      });
      const records = boto3(
        moto,
        `sets = boto3.client("route53", **kw).list_resource_record_sets(HostedZoneId="${zone}")["ResourceRecordSets"]
print(json.dumps([{"name": s["Name"], "type": s["Type"], "alias": s.get("AliasTarget", {}).get("DNSName")} for s in sets if s["Type"] in ("A", "AAAA")]))`,
      ) as { name: string; type: string; alias: string | null }[];
      expect(records).toHaveLength(1);
      expect(records[0]?.name.replace(/\.$/, "")).toBe("api.example.com");
      expect(records[0]?.type).toBe("A");
      expect(records[0]?.alias?.replace(/\.$/, "").toLowerCase()).toBe(
        outputs.LoadBalancerDnsName?.toLowerCase(),
      );
      const refs = clusterRefs("prod", "us-east-1", stackName, outputs);
      expect(refs.listenerArn).toBe(outputs.HttpsListenerArn);
      expect(endpointUrl(refs, "/iris")).toBe("https://api.example.com/iris");

      // And a rule an API got on port 80 before the certificate is removed by its next deploy
      const group = await ports.elb.createTargetGroup({
        Name: "axon-web-iris",
        TargetType: "ip",
        Protocol: "HTTP",
        Port: 8080,
        VpcId: outputs.VpcId ?? "",
      });
      const groupArn = group.TargetGroups?.[0]?.TargetGroupArn ?? "";
      await ports.elb.createRule({
        ListenerArn: outputs.ListenerArn ?? "",
        Priority: 1,
        Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/iris"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: groupArn }],
      });
      expect(refs.plainHttpListenerArn).toBe(outputs.ListenerArn);
      await retirePlainHttpRules(
        { ports, target: ports.target, signal: new AbortController().signal, refs },
        [groupArn],
      );
      const left = await ports.elb.describeRules({ ListenerArn: outputs.ListenerArn ?? "" });
      expect(left.Rules?.filter((rule) => rule.IsDefault !== true)).toEqual([]);
    });
  },
);
