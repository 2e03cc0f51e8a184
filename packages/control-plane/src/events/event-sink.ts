/**
 * The one channel core code reports through (after aws-cdk-cli's IoHost): services, the reconciler
 * and providers `emit` typed `ControlPlaneEvent`s to an injected sink and never print. The daemon
 * composes an `EventBus` whose subscribers are the readers — the daemon log, the store's per-API
 * events, the local API log files, and later the NDJSON streams and ink views.
 */
import type { ControlPlaneEvent } from "../contract/index.js";

export interface EventSink {
  emit(event: ControlPlaneEvent): void;
}

/** A subscriber gets every event with the time it was emitted. */
export type EventSubscriber = (event: ControlPlaneEvent, time: Date) => void;

/**
 * Fans events out to subscribers, in subscription order. A subscriber that throws does not stop
 * the others or the emitter (an event is a report, never a reason for the work to fail); its error
 * goes to `onSubscriberError`.
 */
export class EventBus implements EventSink {
  readonly #subscribers = new Set<EventSubscriber>();
  readonly #onSubscriberError: (error: unknown) => void;

  constructor(onSubscriberError: (error: unknown) => void = () => {}) {
    this.#onSubscriberError = onSubscriberError;
  }

  /** Adds a subscriber; the returned function removes it. */
  subscribe(subscriber: EventSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  emit(event: ControlPlaneEvent): void {
    const time = new Date();
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event, time);
      } catch (error) {
        this.#onSubscriberError(error);
      }
    }
  }
}

/** A sink that records what was emitted (tests). */
export class RecordingSink implements EventSink {
  readonly events: ControlPlaneEvent[] = [];

  emit(event: ControlPlaneEvent): void {
    this.events.push(event);
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}
