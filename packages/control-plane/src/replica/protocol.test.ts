import { describe, expect, it } from "vitest";
import { BodyKind, encodeRequestHead, FrameReader, FrameType } from "./protocol.js";

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
