import { describe, expect, it } from "vitest";
import {
  BodyKind,
  CONTENT_WITH_HEADERS,
  encodeRequestHead,
  FrameReader,
  FrameType,
  readResponseHeaders,
} from "./protocol.js";

function collect(reader: (onFrame: (b: Buffer, s: number, e: number) => void) => FrameReader) {
  const frames: Buffer[] = [];
  const instance = reader((buffer, start, end) =>
    frames.push(Buffer.from(buffer.subarray(start, end))),
  );
  return { frames, instance };
}

describe("FrameReader", () => {
  it("returns every complete frame of a chunk and joins frames split across chunks", () => {
    // Given three frames, the last one large, in one stream
    const body = Buffer.alloc(100_000, 7);
    const frame = (type: number, payload: Buffer): Buffer => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(payload.length + 1, 0);
      head[4] = type;
      return Buffer.concat([head, payload]);
    };
    const stream = Buffer.concat([
      frame(FrameType.Hello, Buffer.from("{}")),
      frame(FrameType.Ready, Buffer.from('{"args":[]}')),
      frame(FrameType.Response, body),
    ]);
    const { frames, instance } = collect((onFrame) => new FrameReader(onFrame));

    // When it arrives in awkward pieces (splitting the length prefix too)
    for (const cut of [
      [0, 2],
      [2, 30],
      [30, 5000],
      [5000, stream.length],
    ] as const) {
      instance.push(stream.subarray(cut[0], cut[1]));
    }

    // Then each frame comes out whole, in order
    expect(frames.map((f) => f[0])).toEqual([FrameType.Hello, FrameType.Ready, FrameType.Response]);
    expect(frames[1]?.subarray(1).toString()).toBe('{"args":[]}');
    expect(frames[2]?.subarray(1).equals(body)).toBe(true);
  });
});

describe("encodeRequestHead", () => {
  it("writes a length that covers id, meta and the body that follows", () => {
    const head = encodeRequestHead(42, BodyKind.Json, "req-1", '{"query":""}', 9);
    const total = head.length + 9;
    expect(head.readUInt32BE(0)).toBe(total - 4);
    expect(head[4]).toBe(FrameType.Request);
    expect(head.readUInt32BE(5)).toBe(42);
    expect(head[9]).toBe(BodyKind.Json);
    expect(head.readUInt16BE(10)).toBe(5);
    expect(head.readUInt32BE(12)).toBe(12);
    expect(head.toString("utf8", 16, 21)).toBe("req-1");
  });
});

/** A RESPONSE frame of kind CONTENT_WITH_HEADERS (type byte first, no length prefix). */
function responseWithHeaders(headerBlock: string, body: string): Buffer {
  const head = Buffer.alloc(12);
  head[0] = FrameType.Response;
  head.writeUInt32BE(1, 1);
  head.writeUInt16BE(201, 5);
  head[7] = CONTENT_WITH_HEADERS;
  head.writeUInt32BE(Buffer.byteLength(headerBlock), 8);
  return Buffer.concat([head, Buffer.from(headerBlock), Buffer.from(body)]);
}

describe("readResponseHeaders", () => {
  it("returns the headers as name/value pairs and where the body starts", () => {
    const frame = responseWithHeaders('[["content-type","text/csv"],["x-name","h\\u00e9"]]', "a,b");
    const { headers, bodyStart } = readResponseHeaders(frame, 0, frame.length);
    expect(headers).toEqual(["content-type", "text/csv", "x-name", "hé"]);
    expect(frame.toString("utf8", bodyStart)).toBe("a,b");
  });

  it.each([
    ['[["x-evil","a\\r\\nset-cookie: x=1"]]', "the header x-evil has a value HTTP cannot carry"],
    ['[["x-nul","a\\u0000"]]', "the header x-nul has a value HTTP cannot carry"],
    ['[["x-wide","\\u2713"]]', "the header x-wide has a value HTTP cannot carry"],
    ['[["bad name","v"]]', 'the header name "bad name" is not a valid HTTP header name'],
    ['[["Content-Length","1"]]', "the header Content-Length is the front's own"],
    ['{"x": "y"}', "the header block is not a list"],
  ])("refuses a header the HTTP side cannot send: %s", (block, message) => {
    // The front answers 500 instead of letting the responder throw in the socket callback.
    const frame = responseWithHeaders(block, "");
    expect(() => readResponseHeaders(frame, 0, frame.length)).toThrow(message);
  });
});
