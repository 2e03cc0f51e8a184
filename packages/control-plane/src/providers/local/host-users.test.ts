/**
 * A host system user per API (host-users.ts) with the real tools: `useradd` writes this machine's
 * /etc/passwd, `setfacl` real ACLs, bubblewrap and `setpriv` run the snooping predictor as the
 * API's account. Root only (tests run as root here); the accounts `axon-<hash of snoop|other>`
 * are kept after the test, as the daemon keeps them (host-users.ts says why).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseApiConfig } from "@axon/config";
import { describe, expect, onTestFinished, test } from "vitest";
import { RecordingSink } from "../../events/event-sink.js";
import type { DesiredApi } from "../provider.js";
import { ApiLogs } from "./api-logs.js";
import { hostUserName, hostUsersUnavailable, lookupUser, SETPRIV } from "./host-users.js";
import { LocalProvider } from "./local-provider.js";
import { probeSandbox } from "./sandbox.js";

const FIXTURES = fileURLToPath(new URL("../../replica/fixtures/", import.meta.url));
const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";
const BWRAP = probeSandbox().bwrap;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Runs `cat file` on the host as `uid:gid`, in a mount namespace where `dir` is at /mnt/guess. */
function readAs(uid: number, gid: number, dir: string, file: string): { ok: boolean; err: string } {
  const result = spawnSync(
    BWRAP ?? "bwrap",
    // prettier-ignore
    [
      "--ro-bind", "/", "/", "--tmpfs", "/mnt", "--ro-bind", dir, "/mnt/guess", "--",
      SETPRIV, `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--",
      "/bin/cat", path.join("/mnt/guess", file),
    ],
    { encoding: "utf8" },
  );
  return { ok: result.status === 0, err: result.stderr.trim() };
}

describe("hostUserName", () => {
  test("is axon- and 10 hex digits of the API's name, within the 32 bytes of a user name", () => {
    // Given a long API name, when named, then the name is short and stable
    const name = hostUserName("a".repeat(200));
    expect(name).toMatch(/^axon-[0-9a-f]{10}$/);
    expect(hostUserName("a".repeat(200))).toBe(name);
    expect(hostUserName("iris")).not.toBe(hostUserName("iris2"));
  });
});

describe("lookupUser", () => {
  test("reads uid and gid from a passwd file, and is undefined for a name it lacks", async () => {
    // Given a passwd file with two accounts
    const dir = await mkdtemp(path.join(tmpdir(), "axon-passwd-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const passwd = path.join(dir, "passwd");
    await writeFile(
      passwd,
      "root:x:0:0:root:/root:/bin/bash\naxon-0123456789:x:996:993:Axon API a:/nonexistent:/usr/sbin/nologin\n",
    );
    // When looked up, then the account's ids come back
    expect(lookupUser("axon-0123456789", passwd)).toEqual({
      name: "axon-0123456789",
      uid: 996,
      gid: 993,
    });
    expect(lookupUser("axon-missing", passwd)).toBeUndefined();
  });
});

const ROOT_WITH_TOOLS =
  BWRAP !== undefined &&
  process.getuid?.() === 0 &&
  hostUsersUnavailable(tmpdir(), {}) === undefined;

describe("LocalProvider as root: a host user per API", () => {
  test.skipIf(!ROOT_WITH_TOOLS)(
    "the snooping predictor runs as its API's system user, reads its own project, and cannot read another API's project even at a path it guesses; a delete closes the other's folders",
    async () => {
      // Given a daemon home (0700, as the daemon makes it) inside a folder only root may cross,
      // as /root/.axon is, with two APIs' projects, each holding the snooping predictor, and a token
      const parent = await mkdtemp(path.join(tmpdir(), "axon-hostusers-"));
      const home = path.join(parent, ".axon");
      await mkdir(home, { mode: 0o700 });
      const projects = path.join(home, "projects");
      const snoopProject = path.join(projects, "snoop");
      const otherProject = path.join(projects, "other");
      for (const dir of [snoopProject, otherProject]) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(
          path.join(dir, "snoop_predictor.py"),
          await readFile(path.join(FIXTURES, "snoop_predictor.py")),
          { mode: 0o600 },
        );
      }
      await writeFile(path.join(home, "token"), "secret-token\n", { mode: 0o600 });
      const events = new RecordingSink();
      const stopping = new AbortController();
      const provider = new LocalProvider({
        home,
        projectDir: async (bundle) => path.join(projects, bundle),
        events,
        logs: new ApiLogs(home),
        python: { path: PYTHON, source: "env" },
        gatewayPort: 0,
        isolatedEnvironments: false,
        envGcGraceMs: 3_600_000,
        stopSignal: stopping.signal,
      });
      onTestFinished(async () => {
        stopping.abort();
        await provider.shutdown();
        await rm(parent, { recursive: true, force: true });
      });
      await provider.start(stopping.signal);
      const desired = (name: string): DesiredApi => {
        const yaml = `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: snoop_predictor.py\n    config:\n      paths: ${JSON.stringify([path.join(home, "token"), path.join(otherProject, "snoop_predictor.py"), path.join(snoopProject, "snoop_predictor.py")])}\n`;
        const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
        if (spec === undefined) throw new Error("no spec");
        return {
          name,
          version: { id: "v1", spec, bundle: name, artifact: { envKey: null } },
          replicas: 1,
          secretEnv: {},
        };
      };

      // When both APIs are deployed and the snooping one is asked what it could read
      for (const name of ["snoop", "other"]) {
        await provider.apply(desired(name), stopping.signal);
      }
      await waitFor("both replicas to be ready", () => {
        const ready = events.events.filter((e) => e.kind === "replica.ready");
        return ready.length === 2;
      });
      const response = await fetch(
        provider.endpointUrl("/snoop").replace("localhost", "127.0.0.1"),
        { method: "POST", body: "{}" },
      );
      const results = (await response.json()) as Record<string, string>;

      // Then it ran as the API's own system user, as /etc/passwd has it
      const snoopUser = lookupUser(hostUserName("snoop"));
      const otherUser = lookupUser(hostUserName("other"));
      if (snoopUser === undefined || otherUser === undefined) throw new Error("no users made");
      expect({ uid: results["uid"], gid: results["gid"] }).toEqual({
        uid: String(snoopUser.uid),
        gid: String(snoopUser.gid),
      });
      expect(snoopUser.uid).not.toBe(0);
      // And it holds no capability, may gain none, and has no supplementary group
      expect({
        CapEff: results["CapEff"],
        CapPrm: results["CapPrm"],
        CapBnd: results["CapBnd"],
        NoNewPrivs: results["NoNewPrivs"],
        Groups: results["Groups"],
      }).toEqual({
        CapEff: "0000000000000000",
        CapPrm: "0000000000000000",
        CapBnd: "0000000000000000",
        NoNewPrivs: "1",
        Groups: "",
      });
      expect(snoopUser.uid).not.toBe(otherUser.uid);
      expect(provider.engineInfo().sandbox).toMatchObject({
        identity: "api-user",
        summary: expect.stringContaining("a system user of its own per API"),
      });
      // And it read its own project, not the token nor the other API's project
      expect(results[path.join(snoopProject, "snoop_predictor.py")]).toBe("read");
      expect(results[path.join(home, "token")]).toMatch(/^(FileNotFoundError|PermissionError)$/);
      expect(results[path.join(otherProject, "snoop_predictor.py")]).toMatch(
        /^(FileNotFoundError|PermissionError)$/,
      );

      // And outside any sandbox view, as that user: the guessed host path is closed (the home is
      // 0700), and so is the other project's folder itself, mounted where the user can reach it;
      // its own folder, mounted the same way, is readable
      const guessed = spawnSync(
        SETPRIV,
        [`--reuid=${snoopUser.uid}`, `--regid=${snoopUser.gid}`, "--clear-groups", "--"].concat([
          "/bin/cat",
          path.join(otherProject, "snoop_predictor.py"),
        ]),
        { encoding: "utf8" },
      );
      expect(guessed.status).not.toBe(0);
      expect(guessed.stderr).toContain("Permission denied");
      const other = readAs(snoopUser.uid, snoopUser.gid, otherProject, "snoop_predictor.py");
      expect(other).toEqual({ ok: false, err: expect.stringContaining("Permission denied") });
      expect(readAs(snoopUser.uid, snoopUser.gid, snoopProject, "snoop_predictor.py").ok).toBe(
        true,
      );
      expect(readAs(otherUser.uid, otherUser.gid, otherProject, "snoop_predictor.py").ok).toBe(
        true,
      );

      // When the other API is deleted
      await provider.remove("other", stopping.signal);

      // Then its folders are closed to its account again, and the account is kept for reuse
      expect(readAs(otherUser.uid, otherUser.gid, otherProject, "snoop_predictor.py").ok).toBe(
        false,
      );
      expect(lookupUser(hostUserName("other"))).toEqual(otherUser);
    },
  );
});
