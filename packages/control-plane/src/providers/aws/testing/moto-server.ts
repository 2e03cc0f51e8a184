/**
 * A real moto server (the AWS emulator, shared/reference/moto.md) for tests: started on 127.0.0.1
 * on a free port, reset between tests, stopped by its pid. `motoAvailable()` says whether this
 * machine has moto, so tests can be skipped with a reason instead of passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

export interface MotoServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  pid: number;
  /** `POST /moto-api/reset`: forget every resource. */
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** The environment an SDK client (or a daemon) needs to talk to this server. */
  awsEnv(): Record<string, string>;
}

/** True when `python3 -m moto.server` can run here. */
export function motoAvailable(): boolean {
  return spawnSync("python3", ["-c", "import moto.server"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts moto and resolves once it listens. `env` sets moto's switches for this server, e.g.
 * `{ MOTO_ECS_SERVICE_RUNNING: "1" }` (services report that many running tasks, and a service whose
 * desired count it covers has a COMPLETED rollout).
 */
export async function startMoto(env: Record<string, string> = {}): Promise<MotoServer> {
  const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "false", ...env },
  });
  const url = await listeningUrl(child);
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    reset: async () => {
      const response = await fetch(`${url}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
    awsEnv: () => ({
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_REGION: "us-east-1",
      AWS_MAX_ATTEMPTS: "1",
    }),
  };
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        child.stderr?.off("data", onData);
        child.stdout?.off("data", onData);
        // Keep draining so moto never blocks on a full pipe.
        child.stderr?.resume();
        child.stdout?.resume();
        resolve(match[1]);
      }
    };
    child.stderr?.on("data", onData);
    child.stdout?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`moto exited (${String(code)}) before listening:\n${output}`)),
    );
  });
}
