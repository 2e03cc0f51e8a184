"""Form bodies (``multipart/form-data``, ``application/x-www-form-urlencoded``) as ``predict`` gets
them: a ``Form`` of fields (``str``) and files (``UploadedFile``), shaped like the Starlette
``FormData`` Cortex 0.20 passed, with the raw body kept as ``form.body``.

Only requests the front marked as forms (PROTOCOL.md, body kind 2) come here, so JSON and raw
bodies pay nothing. Standard library only: the multipart parser is the small one below, strict
about structure so a malformed body gets a 400 saying what is wrong instead of a half-read form.
"""

import io
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl

# Starlette's own default limits on fields and files per form.
MAX_PARTS = 1000


class FormError(ValueError):
    """A form body that cannot be read; the message says why (it becomes the 400's error)."""


class UploadedFile:
    """One file of a multipart form: ``filename``, ``content_type``, the part's ``headers`` (lower-
    case names) and its bytes, readable as ``file.read()`` (as Starlette's ``UploadFile.file``)
    or at once as ``data``."""

    __slots__ = ("filename", "content_type", "headers", "file")

    def __init__(self, filename: str, content_type: str, headers: dict, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers
        self.file = io.BytesIO(data)

    @property
    def data(self) -> bytes:
        """The file's bytes, whatever was read from ``file`` already."""
        return self.file.getvalue()

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def __repr__(self) -> str:
        return f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, size={len(self.data)})"


class Form(Mapping):
    """Fields in the order they came. ``form[name]`` is the last value of that name (as Starlette's
    ``FormData``), ``form.getlist(name)`` all of them, ``form.multi_items()`` every pair; ``body``
    is the request's raw bytes and ``content_type`` its Content-Type header."""

    __slots__ = ("_items", "_last", "body", "content_type")

    def __init__(self, items: list, body: bytes, content_type: str) -> None:
        self._items = items
        self._last = dict(items)
        self.body = body
        self.content_type = content_type

    def __getitem__(self, name: str):
        return self._last[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def getlist(self, name: str) -> list:
        return [value for key, value in self._items if key == name]

    def multi_items(self) -> list:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Form({self._items!r})"


def parse_form(body: bytes, content_type: str) -> Form:
    """The form in ``body``; raises FormError naming what is wrong."""
    params = _header_params("Content-Type", content_type)
    media = params.get_content_type()
    if media == "application/x-www-form-urlencoded":
        return Form(_urlencoded_items(body), body, content_type)
    if media == "multipart/form-data":
        boundary = params.get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            raise FormError("the multipart/form-data body has no boundary in its Content-Type header")
        return Form(_multipart_items(body, boundary.encode("latin-1")), body, content_type)
    raise FormError(f"{media} is not a form type")


def _urlencoded_items(body: bytes) -> list:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormError(f"the URL-encoded form is not UTF-8 text (byte {error.start})") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARTS)
    except ValueError:
        raise FormError(f"the URL-encoded form has more than {MAX_PARTS} fields") from None


def _multipart_items(body: bytes, boundary: bytes) -> list:
    delimiter = b"--" + boundary
    next_delimiter = b"\r\n" + delimiter
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:
        found = body.find(next_delimiter)
        if found < 0:
            raise FormError(
                "the multipart body does not contain its boundary (the Content-Type's boundary and the body disagree)"
            )
        pos = found + len(next_delimiter)
    items = []
    while True:
        if body.startswith(b"--", pos):
            return items
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise FormError(f"part {len(items) + 1} of the multipart body is cut short or malformed after its boundary")
        if len(items) == MAX_PARTS:
            raise FormError(f"the multipart body has more than {MAX_PARTS} parts")
        head_start = line_end + 2
        if body.startswith(b"\r\n", head_start):
            head, content_start = b"", head_start + 2
        else:
            head_end = body.find(b"\r\n\r\n", head_start)
            if head_end < 0:
                raise FormError(f"part {len(items) + 1} of the multipart body has no blank line after its headers")
            head, content_start = body[head_start:head_end], head_end + 4
        content_end = body.find(next_delimiter, content_start)
        if content_end < 0:
            raise FormError(
                f"part {len(items) + 1} of the multipart body is not followed by the boundary (the body is cut short?)"
            )
        items.append(_part(len(items) + 1, head, body[content_start:content_end]))
        pos = content_end + len(next_delimiter)


def _part(number: int, head: bytes, content: bytes):
    headers = {}
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            raise FormError(f"part {number} of the multipart body has a header line without ':'")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise FormError(f"part {number} of the multipart body has no Content-Disposition header")
    params = _header_params("Content-Disposition", disposition)
    name = params.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise FormError(f"part {number} of the multipart body has no name in its Content-Disposition header")
    filename = params.get_filename()
    part_type = headers.get("content-type", "")
    if filename is not None:
        return name, UploadedFile(filename, part_type or "application/octet-stream", headers, content)
    charset = _header_params("Content-Type", part_type).get_content_charset("utf-8") if part_type else "utf-8"
    try:
        return name, content.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise FormError(f"the form field {name!r} is not {charset} text") from None


def _header_params(name: str, value: str):
    """A header's value and parameters (quoted strings, RFC 2231 filename*=), read by the standard
    library's email package, imported here so a worker that never sees a form never loads it."""
    from email.message import Message

    message = Message()
    message[name] = value
    return message
