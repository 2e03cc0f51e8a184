/**
 * The watch hook with plain functions for its source (no daemon): what events the view gets when
 * the engine streams them (local) and when it has no stream (ECS), and the engine's redraw pace.
 */
import type { ApiDetail } from "@axon/control-plane/api";
import { Text } from "ink";
import { render } from "ink-testing-library";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";
import type { WatchSnapshot } from "../services/watch.js";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import type { WatchEvent } from "./ApiWatch.js";
import { useApiWatch, type WatchSource } from "./use-api-watch.js";

const NOW = new Date(2026, 11, 7, 17, 0, 0);

function Probe(props: { source: WatchSource }): ReactNode {
  const state = useApiWatch(props.source);
  return <Text>{state.events.map((event) => event.message).join(" | ") || "(none)"}</Text>;
}

/** Looks that list the API's stored events: the n-th look lists `event 1` … `event n`. */
function looks(): { look: () => Promise<WatchSnapshot>; count: () => number } {
  let n = 0;
  return {
    count: () => n,
    look: async () => {
      n += 1;
      const detail: ApiDetail = {
        ...makeApiDetail("iris", "http://x/iris", "live"),
        events: Array.from({ length: n }, (_, i) => ({
          time: NOW.toISOString(),
          type: "info" as const,
          message: `event ${i + 1}`,
        })),
      };
      return { at: NOW.toISOString(), apis: [detail], detail };
    },
  };
}

/** Waits (bounded) until `frame()` satisfies `done`, and returns it. */
async function frameWhen(frame: () => string, done: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 500; i++) {
    if (done(frame())) return frame();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return frame();
}

describe("useApiWatch", () => {
  it("with no live stream (the engine answered not-supported), each look's stored events are the events", async () => {
    // Given looks whose stored events grow, and a follow that ends at once (get.ts's fallback)
    const source = looks();
    const watch: WatchSource = {
      look: source.look,
      follow: () => Promise.resolve(),
      intervalMs: 5,
      now: () => NOW,
      onError: (error) => {
        throw error;
      },
    };
    // When the watch has looked three times or more
    const { lastFrame, unmount } = render(<Probe source={watch} />);
    const frame = await frameWhen(
      () => lastFrame() ?? "",
      (text) => text.includes("event 3"),
    );
    unmount();
    // Then the events are the latest look's, not the first look's with nothing after
    expect(frame).toMatch(/^event 1 \| event 2 \| event 3/);
    expect(frame.split("event 1").length).toBe(2);
  });

  it("with a live stream, the first look seeds the events and the stream adds the rest", async () => {
    // Given looks whose stored events grow, and a stream that sends one event and stays open
    const source = looks();
    const watch: WatchSource = {
      look: source.look,
      follow: (onEvent: (event: WatchEvent) => void, stop: AbortSignal) => {
        onEvent({ time: NOW.toISOString(), level: "info", message: "streamed" });
        return new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve()));
      },
      intervalMs: 5,
      now: () => NOW,
      onError: (error) => {
        throw error;
      },
    };
    // When the watch has looked three times or more
    const { lastFrame, unmount } = render(<Probe source={watch} />);
    await frameWhen(
      () => String(source.count()),
      (count) => Number(count) >= 3,
    );
    const frame = lastFrame() ?? "";
    unmount();
    // Then only the first look's event and the streamed one are shown
    expect(frame).toBe("event 1 | streamed");
  });
});
