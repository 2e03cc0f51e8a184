import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { ErrorBody } from "../../contract/index.js";
import { REQUEST_INVALID } from "../../errors.js";
import { EventBus } from "../../events/event-sink.js";
import { StateStore } from "../../state/store.js";
import type { RouteContext } from "../context.js";
import { buildApiServer } from "../server.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("GET /v1/apis/:name", () => {
  test("a traffic window that is not 1 to 180 whole minutes is refused, naming what to give", async () => {
    // Given the daemon's HTTP layer over an empty store
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-get-api-"));
    dirs.push(dir);
    const store = StateStore.open(path.join(dir, "state.db"));
    const context: Partial<RouteContext> = { store, events: new EventBus() };
    const app = buildApiServer(context as RouteContext, "t");
    await app.ready();

    // When a look asks for 0, 181 or half a minute of traffic
    for (const traffic of ["0", "181", "1.5", "soon"]) {
      const answer = await app.inject({
        method: "GET",
        url: `/v1/apis/iris?traffic=${traffic}`,
        headers: { authorization: "Bearer t" },
      });
      // Then it is a 400 before any engine is asked
      expect(answer.statusCode, traffic).toBe(400);
      expect(answer.json<ErrorBody>()).toMatchObject({
        code: REQUEST_INVALID,
        message: `traffic must be a whole number of minutes from 1 to 180 (got ${traffic})`,
      });
    }
    await app.close();
    store.close();
  });
});
