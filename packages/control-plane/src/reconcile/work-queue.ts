/**
 * A de-duplicating work queue for level-based reconcilers (after controller-runtime): keys are
 * enqueued by events; each key is reconciled by at most one worker at a time; a key enqueued while
 * it is being reconciled runs once more afterwards; errors back off exponentially; a reconcile may
 * ask to be requeued after a delay. Reconcile functions read desired and observed state themselves,
 * so dropping or merging events never loses work.
 */

export interface ReconcileResult {
  /** Run this key again after this many milliseconds (e.g. to wait out a crash backoff). */
  requeueAfterMs?: number;
}

export type ReconcileFn = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  workers?: number;
  /** A reconcile that takes longer than this is aborted and retried with backoff. */
  timeoutMs?: number;
  onError?: (key: string, error: unknown) => void;
}

const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export class WorkQueue {
  readonly #reconcile: ReconcileFn;
  readonly #workers: number;
  readonly #timeoutMs: number;
  readonly #onError: (key: string, error: unknown) => void;
  readonly #pending = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #failures = new Map<string, number>();
  readonly #waiters = new Map<string, Array<() => void>>();
  /** Signals of the reconciles running now, aborted by `stop`. */
  readonly #controllers = new Set<AbortController>();
  #running = 0;
  #stopped = false;

  constructor(reconcile: ReconcileFn, options: WorkQueueOptions = {}) {
    this.#reconcile = reconcile;
    this.#workers = options.workers ?? 4;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#onError = options.onError ?? (() => {});
  }

  /** Schedules `key` (now, or after `delayMs`). Repeated calls before it runs merge into one. */
  add(key: string, delayMs = 0): void {
    if (this.#stopped) return;
    if (delayMs > 0) {
      const existing = this.#timers.get(key);
      if (existing !== undefined) clearTimeout(existing);
      const timer = setTimeout(() => {
        this.#timers.delete(key);
        this.add(key);
      }, delayMs);
      timer.unref();
      this.#timers.set(key, timer);
      return;
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#pending.add(key);
    this.#pump();
  }

  /** Schedules `key` and resolves once a reconcile that started after this call has finished. */
  reconcileNow(key: string): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      list.push(resolve);
      this.#waiters.set(key, list);
      if (this.#active.has(key)) this.#dirty.add(key);
      else this.add(key);
    });
  }

  /** Stops taking work and aborts the reconciles in progress (their signal fires). */
  stop(): void {
    this.#stopped = true;
    for (const controller of this.#controllers)
      controller.abort(new Error("the work queue stopped"));
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#pending.clear();
    for (const list of this.#waiters.values()) for (const resolve of list) resolve();
    this.#waiters.clear();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#workers) {
      const key = this.#nextKey();
      if (key === undefined) return;
      this.#pending.delete(key);
      this.#active.add(key);
      this.#running++;
      void this.#run(key);
    }
  }

  #nextKey(): string | undefined {
    for (const key of this.#pending) if (!this.#active.has(key)) return key;
    return undefined;
  }

  async #run(key: string): Promise<void> {
    const waiters = this.#waiters.get(key) ?? [];
    this.#waiters.delete(key);
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`reconcile of ${key} timed out`)),
      this.#timeoutMs,
    );
    let requeueAfterMs: number | undefined;
    try {
      const result = await this.#reconcile(key, controller.signal);
      this.#failures.delete(key);
      requeueAfterMs = result.requeueAfterMs;
    } catch (error) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      requeueAfterMs = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (failures - 1));
      this.#onError(key, error);
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
      this.#active.delete(key);
      this.#running--;
    }
    for (const resolve of waiters) resolve();
    if (this.#dirty.delete(key)) this.add(key);
    else if (requeueAfterMs !== undefined) this.add(key, requeueAfterMs);
    this.#pump();
  }
}
