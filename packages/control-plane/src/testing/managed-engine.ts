/**
 * A provider used only by tests, shaped the way a managed engine (ECS) works: `apply` hands over a
 * service definition (version, desired count) and returns; the engine rolls out by itself, one
 * `tick()` at a time, and reports tasks by version. It runs nothing — no processes, no HTTP — which
 * is the point: driving the real daemon, store and reconciler with it shows that nothing above the
 * provider assumes local processes. It is not how Axon runs APIs on ECS: those go through the
 * ECS engine (`engines/ecs-engine.ts`, decisions 0009 and 0010), tested against moto.
 */
import type { ApiEnvironment, EngineInfo } from "../contract/index.js";
import type { EventSink } from "../events/event-sink.js";
import type {
  ApplyResult,
  Artifact,
  DesiredApi,
  LogSource,
  ObservedApi,
  ObservedReplica,
  PrepareRequest,
  Provider,
  ReplicaFailure,
  SpecCheck,
} from "../providers/provider.js";

/** What the engine was told for one API: the "service". */
export interface ManagedService {
  versionId: string;
  image: string;
  desiredCount: number;
  endpoint: string;
}

export class ManagedEngineProvider implements Provider {
  readonly kind = "managed-test";
  readonly metrics = undefined;
  readonly predictions = undefined;
  /** Every call that changed the engine, in order (an unchanged apply must add none). */
  readonly mutations: string[] = [];
  readonly services = new Map<string, ManagedService>();
  readonly #tasks = new Map<string, ObservedReplica[]>();
  readonly #failures = new Map<string, ReplicaFailure>();
  readonly #listeners: Array<(apiName: string) => void> = [];
  readonly #events: EventSink;
  #nextTask = 0;
  #clock = 0;

  constructor(events: EventSink) {
    this.#events = events;
  }

  readonly logs: LogSource = {
    tail: async (apiName) => ({ text: `logs of ${apiName} are kept by the engine\n`, position: 0 }),
    follow: async () => {},
  };

  async start(): Promise<void> {}

  engineInfo(): EngineInfo {
    return {
      provider: this.kind,
      ready: true,
      gatewayUrl: "https://engine.example",
      python: { path: "(in the image)", version: null, source: "default" },
      replicas: [...this.#tasks.values()].reduce((n, tasks) => n + tasks.length, 0),
      workerPids: [],
    };
  }

  checkSpec(): SpecCheck {
    return { errors: [], warnings: [], notes: [] };
  }

  endpointUrl(endpoint: string): string {
    return `https://engine.example${endpoint}`;
  }

  async prepare(request: PrepareRequest): Promise<Artifact> {
    return { image: `registry.example/axon:${request.bundle.slice(0, 12)}` };
  }

  describeArtifact(artifact: Artifact): ApiEnvironment {
    return {
      key: typeof artifact.image === "string" ? artifact.image : null,
      python: "(in the image)",
      basePython: "(in the image)",
      baseVersion: null,
      isolated: true,
      packages: 0,
      distributions: [],
    };
  }

  async collectUnusedArtifacts(): Promise<void> {}

  async apply(desired: DesiredApi, signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const image = String(desired.version.artifact.image);
    const wanted: ManagedService = {
      versionId: desired.version.id,
      image,
      desiredCount: desired.replicas,
      endpoint: desired.version.spec.networking.endpoint,
    };
    const current = this.services.get(desired.name);
    if (current === undefined) {
      this.mutations.push(
        `createService ${desired.name} ${wanted.versionId} ×${wanted.desiredCount}`,
      );
    } else if (JSON.stringify(current) !== JSON.stringify(wanted)) {
      this.mutations.push(
        `updateService ${desired.name} ${wanted.versionId} ×${wanted.desiredCount}`,
      );
    } else {
      return {};
    }
    this.services.set(desired.name, wanted);
    // A managed engine rolls out by itself; the control plane only looks again.
    return { requeueAfterMs: 1_000 };
  }

  async remove(apiName: string): Promise<void> {
    if (!this.services.delete(apiName) && !this.#tasks.has(apiName)) return;
    this.mutations.push(`deleteService ${apiName}`);
    this.#tasks.delete(apiName);
  }

  observe(apiName: string): ObservedApi {
    return {
      replicas: (this.#tasks.get(apiName) ?? []).map((t) => ({ ...t })),
      failure: this.#failures.get(apiName),
    };
  }

  apiNames(): string[] {
    return [...new Set([...this.services.keys(), ...this.#tasks.keys()])];
  }

  onChange(listener: (apiName: string) => void): void {
    this.#listeners.push(listener);
  }

  async shutdown(): Promise<void> {}

  /**
   * Makes the engine report that an API's tasks of `versionId` failed `count` times in a row, and
   * stops starting them (a task that crashes at start, as a bad image would).
   */
  failVersion(apiName: string, versionId: string, count: number, message: string): void {
    this.#failures.set(apiName, { versionId, count, lastAt: this.#clock, message });
    const tasks = this.#tasks.get(apiName) ?? [];
    this.#tasks.set(
      apiName,
      tasks.filter((t) => t.versionId !== versionId),
    );
  }

  /**
   * One step of the engine's own deployment, for every service: once as many new-version tasks
   * are ready as desired, the old ones are stopped; tasks started last step become ready; new-
   * version tasks are started up to the desired count.
   */
  tick(): void {
    for (const [apiName, service] of this.services) {
      const before = JSON.stringify(this.#tasks.get(apiName) ?? []);
      let tasks = this.#tasks.get(apiName) ?? [];
      const isCurrent = (t: ObservedReplica): boolean => t.versionId === service.versionId;
      const readyCurrent = tasks.filter((t) => isCurrent(t) && t.phase === "ready").length;
      if (readyCurrent >= service.desiredCount) {
        tasks = tasks.filter(isCurrent).slice(0, service.desiredCount);
      }
      for (const task of tasks) if (task.phase === "starting") task.phase = "ready";
      const failing = this.#failures.get(apiName)?.versionId === service.versionId;
      for (let i = tasks.filter(isCurrent).length; !failing && i < service.desiredCount; i++) {
        const task = {
          id: `task-${this.#nextTask++}`,
          versionId: service.versionId,
          phase: "starting" as const,
          startedAt: this.#clock++,
        };
        tasks.push(task);
        this.#events.emit({
          kind: "replica.starting",
          api: apiName,
          replicaId: task.id,
          versionId: task.versionId,
          pids: [],
        });
      }
      this.#tasks.set(apiName, tasks);
      if (JSON.stringify(tasks) !== before)
        for (const listener of this.#listeners) listener(apiName);
    }
  }
}
