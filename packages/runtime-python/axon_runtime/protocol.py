"""Frame layout shared with packages/control-plane/src/replica/protocol.ts (see PROTOCOL.md).

Every frame is ``u32 length`` (big-endian, bytes that follow) then ``u8 type`` then a
type-specific body. Keep this file and protocol.ts in step: they are the two ends of one wire.
"""

import struct

PROTOCOL_VERSION = 5

# Frame types.
REQUEST = 1  # front -> worker
RESPONSE = 2  # worker -> front
BATCH = 3  # front -> worker: u32 count, then that many complete REQUEST frames
PING = 4  # front -> worker: are you there? (no body); answered with PONG in turn
HELLO = 16  # worker -> front, first frame on a connection
READY = 17  # worker -> front, after PythonPredictor.__init__ returned
INIT_FAILED = 18  # worker -> front, import or __init__ raised; the worker exits next
PONG = 19  # worker -> front: the answer to a PING (no body)

# Request body kinds (decided by the front from Content-Type).
BODY_JSON = 0
BODY_BYTES = 1
# A form (multipart/form-data or URL-encoded): meta always comes with it, its headers holding
# the Content-Type (the multipart boundary).
BODY_FORM = 2

# Response content kinds (the front maps them to Content-Type).
CONTENT_JSON = 0
CONTENT_TEXT = 1
CONTENT_BYTES = 2
# A response object predict returned: the body starts with ``u32 headers_len`` and a JSON list of
# [name, value] pairs (content-type among them) before the HTTP body.
CONTENT_HEADERS = 3

LENGTH = struct.Struct(">I")
# After the length prefix: type, seq, body kind, request-id length, meta length.
REQUEST_HEAD = struct.Struct(">BIBHI")
REQUEST_HEAD_SIZE = REQUEST_HEAD.size  # 12
# Whole response header including the length prefix: length, type, seq, status, content kind.
RESPONSE_HEAD = struct.Struct(">IBIHB")
RESPONSE_OVERHEAD = RESPONSE_HEAD.size - LENGTH.size  # 8
HEADERS_LENGTH = struct.Struct(">I")
CONTROL_HEAD = struct.Struct(">IB")
BATCH_COUNT = struct.Struct(">I")


def encode_response(seq: int, status: int, kind: int, body: bytes) -> bytes:
    """One RESPONSE frame."""
    return RESPONSE_HEAD.pack(RESPONSE_OVERHEAD + len(body), RESPONSE, seq, status, kind) + body


def encode_response_with_headers(seq: int, status: int, headers_json: bytes, body: bytes) -> bytes:
    """One RESPONSE frame of kind CONTENT_HEADERS: the headers (a JSON list of [name, value]
    pairs, already checked to be sendable) travel before the body."""
    size = RESPONSE_OVERHEAD + HEADERS_LENGTH.size + len(headers_json) + len(body)
    head = RESPONSE_HEAD.pack(size, RESPONSE, seq, status, CONTENT_HEADERS)
    return b"".join((head, HEADERS_LENGTH.pack(len(headers_json)), headers_json, body))


def encode_control(frame_type: int, body: bytes) -> bytes:
    """One control frame (HELLO, READY, INIT_FAILED) whose body is UTF-8 JSON."""
    return CONTROL_HEAD.pack(1 + len(body), frame_type) + body


class FrameReader:
    """Splits a byte stream into frames, returning every complete frame per call.

    ``feed`` returns ``(buffer, start, end)`` triples: the frame (type byte first) is
    ``buffer[start:end]``. Partial frames are kept as a list of chunks and joined once, when the
    whole frame has arrived, so a large body costs one copy instead of one per recv.
    """

    __slots__ = ("_chunks", "_size", "_need")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._need = LENGTH.size

    @property
    def missing(self) -> int:
        """Bytes still needed to complete the frame in progress (0 when none is pending)."""
        return max(self._need - self._size, 0) if self._chunks else 0

    def feed(self, data: bytes) -> list[tuple[bytes, int, int]]:
        if self._chunks:
            self._chunks.append(data)
            self._size += len(data)
            if self._size < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
            self._size = 0
        frames = []
        pos = 0
        end = len(data)
        unpack = LENGTH.unpack_from
        while end - pos >= 4:
            (length,) = unpack(data, pos)
            stop = pos + 4 + length
            if stop > end:
                break
            frames.append((data, pos + 4, stop))
            pos = stop
        if pos < end:
            rest = data[pos:] if pos else data
            self._chunks = [rest]
            self._size = len(rest)
            self._need = 4 + unpack(rest, 0)[0] if len(rest) >= 4 else 4
        return frames


PONG_FRAME = CONTROL_HEAD.pack(1, PONG)
