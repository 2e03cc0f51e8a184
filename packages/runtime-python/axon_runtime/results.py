"""Turning what predict returned into a RESPONSE frame when it is not plain JSON, text or bytes:
response objects (Starlette's Response, recognised by its attributes), and the messages for results
that cannot be sent (NaN, lone surrogates, values JSON cannot encode)."""

import json
import re

from . import protocol as p
from .messages import count

# A response object's headers the front sends itself (framing, connection handling, the request
# id): dropped from what predict returned. Starlette's Response always carries a content-length.
FRONT_OWNED_HEADERS = frozenset(
    ("content-length", "transfer-encoding", "connection", "date", "keep-alive", "x-request-id")
)
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What node:http and the front accept in a header value: tab, visible ASCII, space, latin-1 text.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_SPLITTING = re.compile(r"[\r\n\0]")


def json_default(value):
    # numpy scalars and arrays (and anything else array-like) become plain lists/numbers.
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class UnsendableResponse(Exception):
    """A response object predict returned that cannot become an HTTP response; says why."""


def is_response_object(value) -> bool:
    # Starlette's Response (and JSONResponse, PlainTextResponse, ...) without importing Starlette,
    # which the worker does not depend on: it sets status_code, raw_headers and body.
    return hasattr(value, "status_code") and hasattr(value, "raw_headers")


def encode_response_object(seq: int, response) -> bytes:
    """The RESPONSE frame for a response object; raises UnsendableResponse naming the problem."""
    kind = type(response).__name__
    status = response.status_code
    if not isinstance(status, int) or isinstance(status, bool):
        raise UnsendableResponse(
            f"predict() returned a {kind} whose status_code is a {type(status).__name__}; it must be an int"
        )
    if not 200 <= status <= 599:
        raise UnsendableResponse(
            f"predict() returned a {kind} with status {status}; a response's status must be 200-599 "
            "(1xx statuses are interim and cannot end a request)"
        )
    body = getattr(response, "body", None)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise UnsendableResponse(
            f"predict() returned a {kind} without a bytes body (its body is {type(body).__name__}); "
            "streaming and file responses are not supported: return a Response holding the whole body"
        )
    body = bytes(body)
    if body and status in (204, 304):
        raise UnsendableResponse(
            f"predict() returned a {kind} with status {status} and a body of {count(len(body), 'byte')}; "
            f"a {status} response cannot carry a body: return it without content"
        )
    headers = _sendable_headers(kind, response.raw_headers)
    return p.encode_response_with_headers(seq, int(status), json.dumps(headers).encode(), body)


def _sendable_headers(kind: str, raw_headers) -> list[list[str]]:
    """A response object's raw_headers as [name, value] text pairs, without the ones the front
    owns; raises UnsendableResponse for a header that cannot be sent as it is."""
    pairs = []
    try:
        items = list(raw_headers)
    except TypeError:
        items = None
    if items is None or not all(isinstance(item, (tuple, list)) and len(item) == 2 for item in items):
        raise UnsendableResponse(
            f"predict() returned a {kind} whose raw_headers is not a list of (name, value) pairs"
        )
    for raw_name, raw_value in items:
        name = _header_text(kind, raw_name, "name", raw_name)
        if not _HEADER_NAME.fullmatch(name):
            raise UnsendableResponse(
                f"predict() returned a {kind} with the header name {name!r}, which is not a valid HTTP "
                "header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            )
        if name.lower() in FRONT_OWNED_HEADERS:
            continue
        value = _header_text(kind, raw_value, "value", name)
        if not _HEADER_VALUE.fullmatch(value):
            bad = _SPLITTING.search(value)
            what = (
                "a CR, LF or NUL character, which would split the HTTP response"
                if bad
                else f"the control character {next(c for c in value if not _HEADER_VALUE.fullmatch(c))!r}, "
                "which HTTP header values cannot carry"
            )
            raise UnsendableResponse(f"predict() returned a {kind} whose header {name!r} holds {what}")
        pairs.append([name, value])
    return pairs


def _header_text(kind: str, raw, part: str, name) -> str:
    """A header name or value as the latin-1 text that goes on the wire (Starlette keeps bytes)."""
    if isinstance(raw, (bytes, bytearray)):
        return raw.decode("latin-1")
    if isinstance(raw, str):
        try:
            raw.encode("latin-1")
        except UnicodeEncodeError:
            raise UnsendableResponse(
                f"predict() returned a {kind} whose header {name!r} has a {part} that is not latin-1 text "
                f"({raw!r}); HTTP headers are bytes: encode such text first (e.g. urllib.parse.quote)"
            ) from None
        return raw
    raise UnsendableResponse(
        f"predict() returned a {kind} whose header {name!r} has a {part} of type {type(raw).__name__}; "
        "it must be bytes or str"
    )


def not_unicode_message(result: str, error: UnicodeEncodeError) -> str:
    # UTF-8 encodes every code point but the surrogates U+D800..U+DFFF; a str holds one alone when
    # it came from JSON such as "\ud800" (valid JSON, not valid text) or from bytes decoded with
    # errors="surrogateescape".
    return (
        f"predict() returned a str that is not valid Unicode text: it holds the lone surrogate "
        f"{result[error.start]!r} at index {error.start} (JSON such as \"\\ud800\" decodes to one), which UTF-8 "
        "cannot encode; remove it, or return text.encode('utf-8', 'replace').decode() to turn it into '?'"
    )


def not_json_message(result, error: Exception) -> str:
    kind = type(result).__name__
    if isinstance(error, RecursionError):
        return (
            f"predict() returned a value of type {kind} nested too deeply to encode as JSON ({error}); "
            "return flatter data"
        )
    if isinstance(error, ValueError) and _encodes_with_nan(result):
        return (
            f"predict() returned a value of type {kind} holding NaN or Infinity, which JSON cannot represent; "
            "replace them before returning it (with None, for instance)"
        )
    return (
        f"predict() returned a value of type {kind} that is not JSON serializable "
        f"({error}); return a dict, list, number, bool, None, a str or bytes"
    )


def _encodes_with_nan(result) -> bool:
    """Whether `result` is JSON but for NaN or Infinity: the encoder raises ValueError for those and
    for a circular reference alike, and only its message tells them apart."""
    try:
        json.JSONEncoder(default=json_default).encode(result)
    except Exception:
        return False
    return True
