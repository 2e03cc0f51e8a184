/**
 * `axon deploy` as a workflow that returns data: locate and validate the config locally, pack the
 * project, make sure a daemon runs, upload the bundle only if the daemon lacks it, deploy, and
 * optionally wait for the APIs to go live. Progress goes to an injected callback; nothing prints.
 */
import type { ApiDetail, Diagnostic, DeployResponse, EventLine } from "@axon/control-plane/api";
import path from "node:path";
import { connectOrStartDaemon } from "../client/start-daemon.js";
import type { ApiClient } from "../client/api-client.js";
import type { CliContext } from "../context.js";
import { ApiError, UserError } from "../errors.js";
import { packProject, type BundleFile } from "./bundle.js";
import { locateConfig, validateConfig } from "./config.js";
import { readApiLogs } from "./logs.js";
import { waitForApiLive } from "./wait.js";

/** What `axon deploy` was asked to do, free of flags. */
export interface DeployOptions {
  /** `[config-or-dir]`; the working directory when undefined. */
  target: string | undefined;
  home: string;
  force: boolean;
  /** Wait for created/updated APIs to go live (or fail). */
  wait: boolean;
  waitTimeoutMs: number;
  gatewayPort?: number;
  python?: string;
  /** Forward the shell's AWS settings to the replicas (local provider only). */
  forwardAwsCredentials: boolean;
  /** The environment to deploy to (`--env`); the daemon's default when undefined. */
  environment?: string;
  /**
   * Look up the config's APIs first and report (`replacing`) the ones deployed from another
   * project folder, so the command can ask before replacing them (on a terminal, without --yes).
   */
  checkReplacements?: boolean;
}

/** Files at least this big are listed in the `packed` event, so the command can ask about them. */
export const LARGE_FILE_BYTES = 10 * 1024 * 1024;

/** Progress worth telling a person about, in the order it happens. */
export type DeployProgress =
  | { type: "validated"; file: string; apis: string[] }
  | { type: "deprecations"; warnings: Diagnostic[] }
  | {
      type: "packed";
      files: number;
      largeFiles: BundleFile[];
      contentBytes: number;
      archiveBytes: number;
      sha256: string;
    }
  /** `skipped`: the control plane already had this bundle (same content hash), so nothing was sent. */
  | { type: "uploaded"; bytes: number; sha256: string; skipped: boolean }
  /** APIs of the config deployed from another project folder, which this deploy would replace. */
  | { type: "replacing"; apis: Array<{ name: string; from: string }>; here: string }
  /** A line of environment-build progress (dependencies.sh, pip). */
  | { type: "building"; message: string }
  | { type: "deployed"; response: DeployResponse }
  /** A control-plane event about one of the deployed APIs (replicas starting, ready, failing). */
  | { type: "event"; line: EventLine }
  | { type: "status"; api: ApiDetail };

/** An API's state when waiting ended, and why it is not live when it is not. */
export type WaitedApi = ApiDetail & {
  /** Present when the API failed or was not live by the deadline. */
  error?: {
    message: string;
    hint?: string;
    /** The last lines of the failing replica's log (or the API's), to show why. */
    logTail?: string[];
  };
};

/** The outcome of a deploy. */
export interface DeploySummary extends DeployResponse {
  configFile: string;
  bundle: { sha256: string; bytes: number; uploaded: boolean };
  /**
   * The state of each API after waiting, in the order of `results` (TrafficSplitters and BatchAPIs left out: nothing of theirs runs to wait for); empty without wait. Every API
   * is waited for, so one that fails does not hide how the others did.
   */
  apis: WaitedApi[];
}

/** Runs the whole deploy. */
export async function deployProject(
  ctx: CliContext,
  options: DeployOptions,
  /** Awaited, so a handler may stop the deploy (e.g. a declined confirmation) by throwing. */
  onProgress: (event: DeployProgress) => void | Promise<void>,
): Promise<DeploySummary> {
  // Validation lists the project as it will be packed (and refuses the home folder), so a
  // predictor left out by .axonignore is reported here, before anything is uploaded.
  const config = await validateConfig(locateConfig(options.target, ctx.cwd), {
    env: ctx.env,
    skipDirs: [options.home],
  });
  await onProgress({
    type: "validated",
    file: config.fileName,
    apis: [...config.apis.map((api) => api.name), ...config.batchApis],
  });
  const bundle = await packProject({ dir: config.dir, files: config.files });
  await onProgress({
    type: "packed",
    files: bundle.files.length,
    largeFiles: bundle.files.filter((file) => file.bytes >= LARGE_FILE_BYTES),
    contentBytes: bundle.contentBytes,
    archiveBytes: bundle.data.length,
    sha256: bundle.sha256,
  });

  const { connection } = await connectOrStartDaemon(ctx, {
    home: options.home,
    ...(options.gatewayPort === undefined ? {} : { gatewayPort: options.gatewayPort }),
    ...(options.python === undefined ? {} : { python: options.python }),
  });
  // API routes act on the target environment; an AWS one's calls use this shell's AWS settings.
  const { pickForwardedAwsVariables } = await import("@axon/config");
  const client = connection.client.withTarget({
    ...(options.environment === undefined ? {} : { env: options.environment }),
    awsSettings: pickForwardedAwsVariables(ctx.env),
  });

  if (options.checkReplacements === true) {
    const elsewhere = await deployedElsewhere(client, config);
    if (elsewhere.length > 0)
      await onProgress({ type: "replacing", apis: elsewhere, here: config.dir });
  }

  const uploaded = !(await client.hasBundle(bundle.sha256));
  if (uploaded) await client.putBundle(bundle.sha256, bundle.data);
  await onProgress({
    type: "uploaded",
    bytes: bundle.data.length,
    sha256: bundle.sha256,
    skipped: !uploaded,
  });

  // Replica events are followed from before the deploy, so none of its replicas' are missed.
  const names = new Set(config.apis.map((api) => api.name));
  const events = options.wait
    ? await followApiEvents(client, names, (line) => onProgress({ type: "event", line }))
    : undefined;
  try {
    return await deployAndWait(ctx, options, client, config, bundle, uploaded, onProgress, (api) =>
      events?.failedReplicas.get(api),
    );
  } finally {
    events?.stop();
    await events?.done;
  }
}

/** The deploy request, then the wait: the part of `deployProject` that events are followed for. */
async function deployAndWait(
  ctx: CliContext,
  options: DeployOptions,
  client: ApiClient,
  config: Awaited<ReturnType<typeof validateConfig>>,
  bundle: Awaited<ReturnType<typeof packProject>>,
  uploaded: boolean,
  onProgress: (event: DeployProgress) => void | Promise<void>,
  failedReplica: (api: string) => string | undefined,
): Promise<DeploySummary> {
  const { pickForwardedAwsVariables } = await import("@axon/config");
  const response = await client.deploy(
    {
      config: config.text,
      configFileName: config.fileName,
      bundle: bundle.sha256,
      projectPath: config.dir,
      force: options.force,
      credentials: options.forwardAwsCredentials ? pickForwardedAwsVariables(ctx.env) : {},
    },
    (message) => onProgress({ type: "building", message }),
  );
  if (response.warnings.length > 0)
    await onProgress({ type: "deprecations", warnings: response.warnings });
  await onProgress({ type: "deployed", response });

  // Unchanged APIs too: after a cluster restart their replicas are starting again, and --wait
  // promises an API that answers (a live one returns at the first look). All at once, so the
  // deadline bounds the whole wait rather than each API's turn.
  const apis = options.wait
    ? await Promise.all(
        // A TrafficSplitter has no replicas to wait for: it routes as soon as it is deployed. A
        // BatchAPI has none either: it is deployed once recorded, and each job starts its workers.
        response.results
          .filter((result) => result.kind !== "TrafficSplitter" && result.kind !== "BatchAPI")
          .map((result) =>
            waitForOneApi(
              client,
              result.api,
              { timeoutMs: options.waitTimeoutMs, signal: ctx.signal, failedReplica },
              onProgress,
            ),
          ),
      )
    : [];

  return {
    ...response,
    configFile: config.file,
    bundle: { sha256: bundle.sha256, bytes: bundle.data.length, uploaded },
    apis,
  };
}

/**
 * Follows `GET /v1/events` for `names` and resolves once the stream is open (so no event of the
 * deploy that follows is missed). A daemon without the route, or a stream that breaks, only costs
 * the live replica states: waiting still polls each API's status.
 */
async function followApiEvents(
  client: ApiClient,
  names: ReadonlySet<string>,
  onEvent: (line: EventLine) => void | Promise<void>,
): Promise<{ stop: () => void; done: Promise<void>; failedReplicas: Map<string, string> }> {
  const stop = new AbortController();
  const failedReplicas = new Map<string, string>();
  let opened: () => void = () => {};
  const open = new Promise<void>((resolve) => (opened = resolve));
  const done = client
    .streamEvents({ stop: stop.signal, onOpen: () => opened() }, (line) => {
      const { event } = line;
      const api = "api" in event ? event.api : undefined;
      if (api === undefined || !names.has(api)) return;
      if (event.kind === "replica.failed") failedReplicas.set(api, event.replicaId);
      void onEvent(line);
    })
    // Any failure here (404 from an older daemon, a broken stream, Ctrl-C) is the wait's to
    // report, not this follower's.
    .catch(() => undefined)
    .finally(() => opened());
  await open;
  return { stop: () => stop.abort(), done, failedReplicas };
}

/** How many log lines a failed API's error shows. */
export const FAILURE_LOG_LINES = 12;

/** The last lines of `replica`'s log (the API's when unknown); empty when they cannot be read. */
async function readFailureLog(
  client: ApiClient,
  name: string,
  replica: string | undefined,
): Promise<string[]> {
  const lines: string[] = [];
  try {
    await readApiLogs(
      client,
      name,
      {
        follow: false,
        tail: FAILURE_LOG_LINES,
        filter: replica === undefined ? {} : { replica },
      },
      (record) => lines.push(record.line),
    );
  } catch {
    // The log is a courtesy: the error itself still says what failed.
  }
  return lines;
}

/** Waits for one API and reports how it ended, failure included (only Ctrl-C and bugs throw). */
async function waitForOneApi(
  client: ApiClient,
  name: string,
  options: {
    timeoutMs: number;
    signal: AbortSignal;
    failedReplica: (api: string) => string | undefined;
  },
  onProgress: (event: DeployProgress) => void | Promise<void>,
): Promise<WaitedApi> {
  const { timeoutMs, signal } = options;
  // The last state seen: waitForApiLive throws on failure, and this is then the API's final state.
  let last: ApiDetail | undefined;
  try {
    return await waitForApiLive(client, name, {
      timeoutMs,
      signal,
      onStatus: (api) => {
        last = api;
        return onProgress({ type: "status", api });
      },
    });
  } catch (error) {
    if (!(error instanceof UserError) || last === undefined) throw error;
    const details = error.details === undefined ? "" : ` (${error.details})`;
    const logTail = await readFailureLog(client, name, options.failedReplica(name));
    return {
      ...last,
      error: {
        message: `${error.message}${details}`,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
        ...(logTail.length === 0 ? {} : { logTail }),
      },
    };
  }
}

/** The config's APIs that exist already and were last deployed from another project folder. */
async function deployedElsewhere(
  client: ApiClient,
  config: { dir: string; apis: Array<{ name: string }> },
): Promise<Array<{ name: string; from: string }>> {
  const found: Array<{ name: string; from: string }> = [];
  for (const { name } of config.apis) {
    let existing: ApiDetail;
    try {
      existing = await client.getApi(name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) continue;
      throw error;
    }
    const from = existing.projectPath;
    if (from !== undefined && path.resolve(from) !== path.resolve(config.dir))
      found.push({ name, from });
  }
  return found;
}
