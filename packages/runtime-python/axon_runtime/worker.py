"""One Python worker of a replica: ``python -m axon_runtime.worker --socket PATH ...``.

Connects to the replica front's Unix socket, announces itself (HELLO), imports the predictor and
runs ``__init__``, reports READY, then answers REQUEST frames until the front closes the socket.
When the socket closes the worker exits at once: that is how workers never outlive a front that
was killed. See PROTOCOL.md for the frames.
"""

import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from urllib.parse import parse_qsl

from . import batch
from . import protocol as p
from .loader import (
    PredictorError,
    construct,
    import_error_hint,
    load_predictor_class,
    post_predict_args,
    predict_args,
)
from .dotenv import load_dotenv
from .forms import Form, FormError, parse_form
from .tracebacks import format_current_exception, summary_line
from .log import RuntimeLog
from .messages import count, describe
from .post_predict import PostPredictRunner, calling_with
from .results import (
    UnsendableResponse,
    encode_response_object,
    is_response_object,
    json_default,
    not_json_message,
    not_unicode_message,
)

RECV_SIZE = 256 * 1024
# Longest a ready answer waits for its siblings from the same recv (see _serve_inline).
FLUSH_AFTER_S = 0.0002
MAX_RECV_SIZE = 16 * 1024 * 1024
EXIT_INIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FRONT_GONE = 3


_raw_decode = json.JSONDecoder().raw_decode


def _loads(data: bytes):
    """`json.loads(data)`, about 3x faster for the usual body: UTF-8 JSON without surrounding
    whitespace (raw_decode on text skips json.loads's encoding detection and whitespace regexes).
    Anything else goes to json.loads itself, so results and error messages are exactly its own."""
    try:
        text = data.decode("utf-8")
        value, end = _raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    return json.loads(data)


def _error_body(message: str, request_id: str) -> bytes:
    return json.dumps({"error": message, "request_id": request_id}).encode()


def _invalid_body_message(error: Exception, empty: bool) -> str:
    """The 400 message for a JSON body that json cannot parse: a syntax error (ValueError) or
    arrays and objects nested deeper than its recursive parser goes (RecursionError)."""
    if isinstance(error, RecursionError):
        return (
            "the request body is JSON nested too deeply to parse (Python's json stops at about "
            f"{sys.getrecursionlimit()} levels of arrays and objects); send flatter JSON or change the Content-Type"
        )
    detail = "the body is empty" if empty else str(error)
    return f"the request body is not valid JSON ({detail}); send JSON or change the Content-Type"


SEND_JSON_HEADER = (
    "send the header Content-Type: application/json (curl -H 'Content-Type: application/json' -d @sample.json)"
)


def _undeclared_json(payload) -> str | None:
    """"form" or "bytes" when `payload` is a body that parses as JSON but reached predict as a
    form or as bytes (its Content-Type was not application/json); None otherwise. Only called
    after predict raised, so a JSON-looking body costs nothing on the way in."""
    if isinstance(payload, Form):
        kind, body = "form", payload.body
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        kind, body = "bytes", bytes(payload)
    else:
        return None
    if body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return None
    return kind


def _seq_and_id(buf: bytes, start: int) -> tuple[int, str]:
    """The seq and request id of the REQUEST frame whose type byte is at `start`."""
    _, seq, _, rid_len, _ = p.REQUEST_HEAD.unpack_from(buf, start)
    id_start = start + p.REQUEST_HEAD_SIZE
    return seq, buf[id_start : id_start + rid_len].decode("utf-8", "replace")


def _batch_request_starts(buf: bytes, start: int) -> list[int]:
    """Where each REQUEST frame (its type byte) of the BATCH frame at `start` begins."""
    (size,) = p.BATCH_COUNT.unpack_from(buf, start + 1)
    pos = start + 1 + p.BATCH_COUNT.size
    starts = []
    for _ in range(size):
        (length,) = p.LENGTH.unpack_from(buf, pos)
        starts.append(pos + 4)
        pos += 4 + length
    return starts


class RequestHandler:
    """Turns one REQUEST frame into one RESPONSE frame; never raises.

    Exceptions from the user's code, BaseException included (``sys.exit()`` in predict), answer
    the request with a 500: an exception escaping here would kill the worker (every request it
    holds gets 502) or, on a predict thread, vanish and leave the request hanging until 504.
    """

    def __init__(
        self, predictor, args: tuple[str, ...], log: RuntimeLog, post_args: tuple[str, ...] | None = None
    ) -> None:
        self._predict = predictor.predict
        # Server-side batching calls predict_batch(payloads) once per batch; a Cortex-era predictor
        # without it gets the list of payloads in predict(payload), as Cortex did.
        batch = getattr(predictor, "predict_batch", None)
        self._predict_batch = batch if callable(batch) else None
        self._args = args
        # What a request must provide: predict's arguments plus those post_predict declares.
        inputs = set(args)
        self._post_predict = None
        if post_args is not None:
            self._post_predict = PostPredictRunner(predictor.post_predict, post_args, log)
            self._deferred = threading.local()
            inputs.update(name for name in post_args if name != "response")
            if not inputs.issubset(args):
                self._predict = calling_with(predictor.predict, args)
        self._inputs = inputs
        self._wants_payload = "payload" in inputs
        self._wants_meta = "query_params" in inputs or "headers" in inputs
        self._predict_wants_meta = "query_params" in args or "headers" in args
        self._post_wants_meta = post_args is not None and ("query_params" in post_args or "headers" in post_args)
        self._log = log
        # allow_nan=False: NaN and Infinity are not JSON, and a client's parser would reject them.
        self._dumps = json.JSONEncoder(default=json_default, allow_nan=False).encode
        self._loads = _loads

    @property
    def has_predict_batch(self) -> bool:
        return self._predict_batch is not None

    @property
    def has_post_predict(self) -> bool:
        return self._post_predict is not None

    def release_post_predict(self) -> None:
        """Hands the post_predict calls of the answers this thread just sent to the background
        runner; call it after sending them, so post_predict never delays a response."""
        jobs = getattr(self._deferred, "jobs", None)
        if jobs:
            self._deferred.jobs = []
            self._post_predict.submit(jobs)

    def _defer_post_predict(self, request_id: str, result, kwargs: dict) -> None:
        try:
            self._deferred.jobs.append((request_id, result, kwargs))
        except AttributeError:
            self._deferred.jobs = [(request_id, result, kwargs)]

    def handle(self, buf: bytes, start: int, end: int) -> bytes:
        try:
            _, seq, body_kind, rid_len, meta_len = p.REQUEST_HEAD.unpack_from(buf, start)
            pos = start + p.REQUEST_HEAD_SIZE
            request_id = buf[pos : pos + rid_len].decode("utf-8", "replace")
            pos += rid_len
            meta_end = pos + meta_len
            kwargs = {}
            if self._wants_payload:
                if body_kind == p.BODY_JSON:
                    try:
                        kwargs["payload"] = self._loads(buf[meta_end:end])
                    except (ValueError, RecursionError) as error:
                        message = _invalid_body_message(error, meta_end == end)
                        return p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(message, request_id))
                elif body_kind == p.BODY_FORM:
                    try:
                        kwargs["payload"] = self._form(buf[pos:meta_end], buf[meta_end:end])
                    except FormError as error:
                        return p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(str(error), request_id))
                else:
                    kwargs["payload"] = buf[meta_end:end]
            if self._wants_meta:
                kwargs.update(self._meta_kwargs(buf[pos:meta_end]))
            try:
                result = self._predict(**kwargs)
            except BaseException as error:  # user code: SystemExit and KeyboardInterrupt included
                return self._predict_raised(seq, request_id, error, kwargs.get("payload"))
            frame = self._encode_result(seq, request_id, result)
            if self._post_predict is not None:
                self._defer_post_predict(request_id, result, kwargs)
            return frame
        except BaseException:  # a runtime bug, or user code it calls (tolist()): answer, never hang or die
            return b"".join(self.answer_runtime_failure(buf, start))

    def _predict_raised(self, seq: int, request_id: str, error: BaseException, payload) -> bytes:
        """The answer when predict raised: a 500 pointing at the logged traceback, or, when the
        body is JSON the request did not declare as JSON (the first call of every tutorial, curl -d
        @sample.json, sends it as a URL-encoded form), a 400 naming the header to send."""
        mislabelled = _undeclared_json(payload)
        if mislabelled == "form":
            message = (
                f"predict() raised {describe(error)} on this request's body read as a form: the body is JSON "
                f"but its Content-Type is {payload.content_type or 'a form type'} (what curl -d sends unless told "
                f"otherwise); {SEND_JSON_HEADER}"
            )
            self._log.error(f"request {request_id}: {message}", with_traceback=True)
            return p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(message, request_id))
        self._log.error(f"request {request_id}: predict() raised an exception: {describe(error)}", with_traceback=True)
        message = f"predict() raised an exception; the API logs have the traceback for request {request_id}"
        if mislabelled == "bytes":
            hint = (
                "the body is JSON but the request did not say so, so predict got it as bytes; if predict expects "
                f"the parsed value, {SEND_JSON_HEADER}"
            )
            self._log.error(f"request {request_id}: {hint}")
            message = f"{message} ({hint})"
        return p.encode_response(seq, 500, p.CONTENT_JSON, _error_body(message, request_id))

    def _form(self, meta_json: bytes, body: bytes) -> Form:
        """A form body as predict gets it; its Content-Type travels in the meta (PROTOCOL.md)."""
        meta = self._loads(meta_json) if meta_json else {}
        return parse_form(body, meta.get("headers", {}).get("content-type", ""))

    def _meta_kwargs(self, meta_json: bytes) -> dict:
        """`query_params` and/or `headers`, whichever predict or post_predict declares, from a
        REQUEST's meta."""
        meta = self._loads(meta_json) if meta_json else {}
        kwargs = {}
        if "query_params" in self._inputs:
            kwargs["query_params"] = dict(parse_qsl(meta.get("query", ""), keep_blank_values=True))
        if "headers" in self._inputs:
            kwargs["headers"] = meta.get("headers", {})
        return kwargs

    def handle_batch(self, buf: bytes, start: int, end: int) -> list[bytes]:
        """Turns one BATCH frame into one RESPONSE frame per request in it; never raises."""
        try:
            (size,) = p.BATCH_COUNT.unpack_from(buf, start + 1)
            pos = start + 1 + p.BATCH_COUNT.size
            out = []
            seqs = []
            ids = []
            payloads = []
            # Cortex's batching called predict with a list per declared argument; the front sends
            # meta in batches only for such a predictor (predict_batch gets payloads alone), or
            # when post_predict declares query_params or headers (it gets each request's own).
            predict_meta = not self.has_predict_batch and self._predict_wants_meta
            metas = [] if predict_meta or self._post_wants_meta else None
            loads = self._loads
            unpack_length = p.LENGTH.unpack_from
            unpack_head = p.REQUEST_HEAD.unpack_from
            for _ in range(size):
                (length,) = unpack_length(buf, pos)
                frame_start = pos + 4
                pos = frame_start + length
                _, seq, body_kind, rid_len, meta_len = unpack_head(buf, frame_start)
                id_start = frame_start + p.REQUEST_HEAD_SIZE
                request_id = buf[id_start : id_start + rid_len].decode("utf-8", "replace")
                body_start = id_start + rid_len + meta_len
                if body_kind == p.BODY_JSON:
                    try:
                        payload = loads(buf[body_start:pos])
                    except (ValueError, RecursionError) as error:
                        message = _invalid_body_message(error, body_start == pos)
                        out.append(p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(message, request_id)))
                        continue
                elif body_kind == p.BODY_FORM:
                    try:
                        payload = self._form(buf[id_start + rid_len : body_start], buf[body_start:pos])
                    except FormError as error:
                        out.append(p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(str(error), request_id)))
                        continue
                else:
                    payload = buf[body_start:pos]
                seqs.append(seq)
                ids.append(request_id)
                payloads.append(payload)
                if metas is not None:
                    metas.append(buf[id_start + rid_len : body_start])
            if not payloads:
                return out
            # Messages name the function the user wrote: predict_batch, or predict given the list.
            called = "predict_batch()" if self.has_predict_batch else "predict()"
            each = None if metas is None else [self._meta_kwargs(meta) for meta in metas]
            try:
                if self.has_predict_batch:
                    results = self._predict_batch(payloads)
                else:
                    kwargs = {"payload": payloads} if "payload" in self._args else {}
                    if predict_meta:
                        for name in ("query_params", "headers"):
                            if name in self._args:
                                kwargs[name] = [values[name] for values in each]
                    results = self._predict(**kwargs)
            except BaseException as error:  # user code: SystemExit and KeyboardInterrupt included
                out.extend(self._batch_raised(called, error, seqs, ids, payloads))
                return out
            if not isinstance(results, (list, tuple)):
                tolist = getattr(results, "tolist", None)  # a numpy array of answers
                results = tolist() if callable(tolist) else results
            if not isinstance(results, (list, tuple)) or len(results) != len(payloads):
                out.extend(self._batch_miscounted(called, results, seqs, ids))
                return out
            encode = self._encode_result
            for seq, request_id, result in zip(seqs, ids, results):
                out.append(encode(seq, request_id, result))
            if self._post_predict is not None:
                # Cortex called post_predict once per request; so does a batch, with each
                # request's own result, payload, query and headers.
                for i, (request_id, result) in enumerate(zip(ids, results)):
                    kwargs = {"payload": payloads[i]}
                    if each is not None:
                        kwargs.update(each[i])
                    self._defer_post_predict(request_id, result, kwargs)
            return out
        except BaseException:  # a runtime bug, or user code it calls (tolist()): answer, never hang or die
            return self.answer_runtime_failure(buf, start, batch=True)

    def _batch_raised(
        self, called: str, error: BaseException, seqs: list[int], ids: list[str], payloads: list
    ) -> list[bytes]:
        """A 500 for every request of a batch whose predict_batch (or predict) raised; a request
        whose body is JSON sent as a form (curl -d's default) gets the 400 naming the header, as
        it would alone (the check runs only now, after the call failed)."""
        self._log.error(
            f"requests {', '.join(ids)}: {called} raised an exception: {describe(error)}", with_traceback=True
        )
        out = []
        for seq, request_id, payload in zip(seqs, ids, payloads):
            if _undeclared_json(payload) == "form":
                message = (
                    f"{called} raised {describe(error)} for the batch holding this request, whose body was read as "
                    f"a form: the body is JSON but its Content-Type is {payload.content_type or 'a form type'} "
                    f"(what curl -d sends unless told otherwise); {SEND_JSON_HEADER}"
                )
                self._log.error(f"request {request_id}: {message}")
                out.append(p.encode_response(seq, 400, p.CONTENT_JSON, _error_body(message, request_id)))
                continue
            message = (
                f"{called} raised an exception for the batch holding request {request_id}; "
                "the API logs have the traceback"
            )
            out.append(p.encode_response(seq, 500, p.CONTENT_JSON, _error_body(message, request_id)))
        return out

    def _batch_miscounted(self, called: str, results, seqs: list[int], ids: list[str]) -> list[bytes]:
        """A 500 for every request of a batch whose call did not return one result per payload."""
        got = f"a {type(results).__name__}"
        if isinstance(results, (list, tuple)):
            got = count(len(results), "result")
        how = (
            ""
            if self.has_predict_batch
            else " (with server_side_batching and no predict_batch, predict gets the list of payloads)"
        )
        message = (
            f"{called} must return a list with one result per payload{how}; it got "
            f"{count(len(seqs), 'payload')} and returned {got}"
        )
        self._log.error(f"requests {', '.join(ids)}: {message}")
        return [p.encode_response(seq, 500, p.CONTENT_JSON, _error_body(message, rid)) for seq, rid in zip(seqs, ids)]

    def answer_runtime_failure(self, buf: bytes, start: int, batch: bool = False) -> list[bytes]:
        """A 500 for every request of the frame at `start` (a REQUEST, or a BATCH if `batch`) after
        the runtime raised while handling it; call it in the except block, so the log gets that
        traceback. Never raises: requests it cannot even read are logged and left to the front's
        timeout."""
        try:
            starts = _batch_request_starts(buf, start) if batch else [start]
            requests = [_seq_and_id(buf, at) for at in starts]
        except Exception:
            self._log.error("the runtime failed to handle a frame and cannot read its request ids", with_traceback=True)
            return []
        ids = ", ".join(request_id for _, request_id in requests)
        if batch:
            self._log.error(f"requests {ids}: the runtime failed to handle their batch", with_traceback=True)
        else:
            self._log.error(f"request {ids}: the runtime failed to handle the request", with_traceback=True)
        out = []
        for seq, request_id in requests:
            message = f"the Axon runtime failed to handle request {request_id}; see the API logs"
            out.append(p.encode_response(seq, 500, p.CONTENT_JSON, _error_body(message, request_id)))
        return out

    def _encode_result(self, seq: int, request_id: str, result) -> bytes:
        if isinstance(result, str):
            try:
                body = result.encode("utf-8")
            except UnicodeEncodeError as error:  # a lone surrogate, e.g. from the JSON "\ud800"
                return self._result_failed(seq, request_id, not_unicode_message(result, error))
            return p.encode_response(seq, 200, p.CONTENT_TEXT, body)
        if isinstance(result, (bytes, bytearray, memoryview)):
            return p.encode_response(seq, 200, p.CONTENT_BYTES, bytes(result))
        try:
            body = self._dumps(result).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as error:
            # Only now look for a response object (Starlette's Response and its subclasses, by
            # their attributes): the common results above pay nothing for it.
            if isinstance(error, TypeError) and is_response_object(result):
                try:
                    return encode_response_object(seq, result)
                except UnsendableResponse as problem:
                    return self._result_failed(seq, request_id, str(problem))
            return self._result_failed(seq, request_id, not_json_message(result, error))
        return p.encode_response(seq, 200, p.CONTENT_JSON, body)

    def _result_failed(self, seq: int, request_id: str, message: str) -> bytes:
        """A 500 for a result that cannot be sent; the log names the request."""
        self._log.error(f"request {request_id}: {message}")
        return p.encode_response(seq, 500, p.CONTENT_JSON, _error_body(message, request_id))


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m axon_runtime.worker", description=__doc__)
    parser.add_argument("--socket", required=True, help="Unix socket of the replica front")
    parser.add_argument("--worker-index", type=int, required=True)
    parser.add_argument("--replica-id", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--project", required=True, help="project directory")
    parser.add_argument("--predictor", required=True, help="predictor file, relative to the project")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--python-path", default=None, help="directory added to sys.path, relative to the project")
    return parser.parse_args(argv)


def _read_config() -> dict:
    path = os.environ.get("AXON_PREDICTOR_CONFIG_FILE")
    if path:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        source = path
    else:
        text = os.environ.get("AXON_PREDICTOR_CONFIG") or "{}"
        source = "AXON_PREDICTOR_CONFIG"
    try:
        config = json.loads(text)
    except ValueError as error:
        raise PredictorError(f"the predictor config in {source} is not valid JSON: {error}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise PredictorError(f"the predictor config in {source} must be a JSON object, got {type(config).__name__}")
    return config


def _exit_when_front_closes(sock: socket.socket, done: threading.Event, log: RuntimeLog) -> None:
    # The front sends nothing before READY, so the socket turning readable during __init__ means
    # it closed: exit instead of finishing a (possibly minutes long) model load for nobody.
    while not done.is_set():
        try:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if not readable:
                continue
            # Never block here: once READY is sent the serving loop may read the bytes first, and
            # a blocked peek would hold the socket open after the worker closes it.
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                return
        except BlockingIOError:
            continue  # the serving loop read them: __init__ is over
        except OSError:
            pass
        if done.is_set():
            return
        log.info("the replica front closed the connection during __init__; exiting")
        os._exit(EXIT_FRONT_GONE)


def _serve_inline(sock: socket.socket, handler: RequestHandler, log: RuntimeLog) -> None:
    reader = p.FrameReader()
    recv = sock.recv
    sendall = sock.sendall
    handle = handler.handle
    handle_batch = handler.handle_batch
    release = handler.release_post_predict if handler.has_post_predict else None
    clock = time.perf_counter
    while True:
        missing = reader.missing
        data = recv(min(max(RECV_SIZE, missing), MAX_RECV_SIZE))
        if not data:
            return
        # Answers leave together (one sendall) unless they took a while: then the ones ready so
        # far go out every FLUSH_AFTER_S, so the front can answer them while this worker computes
        # the rest, and the clients' next requests arrive meanwhile. Holding every answer until
        # the whole recv is done made the front, the clients and the worker take turns
        # (measured: ~10% more throughput with the early sends).
        out = []
        last = clock()
        for buf, start, end in reader.feed(data):
            kind = buf[start]
            if kind == p.REQUEST:
                out.append(handle(buf, start, end))
            elif kind == p.BATCH:
                out.extend(handle_batch(buf, start, end))
            elif kind == p.PING:
                # Answered in turn (after what came before it) but at once, not held for the
                # frames after it: a PONG is how the front tells a busy worker from a stuck one.
                out.append(p.PONG_FRAME)
                sendall(b"".join(out))
                out = []
                last = clock()
                continue
            else:
                log.warning(f"ignoring a frame of unknown type {kind}")
                continue
            now = clock()
            if now - last >= FLUSH_AFTER_S:
                sendall(out[0] if len(out) == 1 else b"".join(out))
                out = []
                last = now
                if release is not None:
                    release()
        if out:
            sendall(out[0] if len(out) == 1 else b"".join(out))
        if release is not None:
            release()


def _serve_threaded(sock: socket.socket, handler: RequestHandler, threads: int, log: RuntimeLog) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="axon-predict")
    lock = threading.Lock()
    release = handler.release_post_predict if handler.has_post_predict else None

    def send(frame: bytes) -> None:
        try:
            with lock:
                sock.sendall(frame)
        except OSError:
            os._exit(EXIT_FRONT_GONE)

    def run(buf: bytes, start: int, end: int) -> None:
        # handle never raises; should it ever, the exception must not vanish into the pool's
        # future and leave the request unanswered, with nothing logged, until the front's timeout.
        try:
            frame = handler.handle(buf, start, end)
        except BaseException:
            frame = b"".join(handler.answer_runtime_failure(buf, start))
        send(frame)
        if release is not None:
            release()  # this thread's post_predict call, now that its answer left

    reader = p.FrameReader()
    while True:
        data = sock.recv(min(max(RECV_SIZE, reader.missing), MAX_RECV_SIZE))
        if not data:
            return
        for buf, start, end in reader.feed(data):
            kind = buf[start]
            if kind == p.REQUEST:
                pool.submit(run, buf, start, end)
            elif kind == p.BATCH:
                # Batches run one at a time on this thread, as Cortex ran them: predict_batch sees
                # whole batches and the model is never called concurrently by the batcher.
                send(b"".join(handler.handle_batch(buf, start, end)))
                if release is not None:
                    release()
            elif kind == p.PING:
                send(p.PONG_FRAME)  # this thread is free, whatever the predict threads are doing
            else:
                log.warning(f"ignoring a frame of unknown type {kind}")


def main(argv=None) -> int:
    args = _parse_args(argv)
    log = RuntimeLog(args.api, args.replica_id, args.worker_index, os.path.abspath(args.project))
    # The front decides when workers stop (socket close or SIGTERM); a Ctrl-C aimed at a terminal
    # running the daemon must not print KeyboardInterrupt tracebacks from every worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(args.socket)
    except OSError as error:
        log.error(f"cannot connect to the replica front at {args.socket}: {error}")
        return EXIT_USAGE
    hello = {"protocol": p.PROTOCOL_VERSION, "worker": args.worker_index, "pid": os.getpid()}
    sock.sendall(p.encode_control(p.HELLO, json.dumps(hello).encode()))

    init_done = threading.Event()
    threading.Thread(target=_exit_when_front_closes, args=(sock, init_done, log), daemon=True).start()

    started = time.monotonic()
    # A worker of a BatchAPI job (batch.py): the engine says so in its environment, which the
    # predictor's own env may not set (AXON_ names are reserved).
    batch_mode = os.environ.get("AXON_WORKER_MODE") == "batch"
    try:
        project = os.path.abspath(args.project)
        os.chdir(project)
        exported, skipped = load_dotenv(project)
        if exported:
            log.info(f"exported {count(len(exported), 'variable')} from .env: {', '.join(exported)}")
        if skipped:
            log.warning(f".env sets {', '.join(skipped)}, which the Axon runtime owns; ignored")
        extra = [project]
        if args.python_path:
            python_path = os.path.abspath(os.path.join(project, args.python_path))
            if not os.path.isdir(python_path):
                raise PredictorError(f"python_path '{args.python_path}' is not a directory in the project {project}")
            extra.append(python_path)
        sys.path[:0] = [entry for entry in extra if entry not in sys.path]
        config = _read_config()
        log.info(f"loading predictor {args.predictor}")
        cls = load_predictor_class(project, args.predictor)
        if batch_mode:
            wanted = batch.batch_predict_args(cls, args.predictor)
            post_wanted = None
            predictor = batch.construct_batch(cls, args.predictor, config, batch.read_job_spec())
        else:
            wanted = predict_args(cls, args.predictor)
            post_wanted = post_predict_args(cls, args.predictor)
            predictor = construct(cls, args.predictor, config)
    except PredictorError as error:
        log.error(str(error))
        return _report_init_failure(sock, str(error), str(error))
    except BaseException as error:  # user code: SystemExit and KeyboardInterrupt included
        text = format_current_exception(os.path.abspath(args.project))
        log.error(f"loading the predictor failed:\n{text.rstrip()}")
        summary = summary_line(error, os.path.abspath(args.project))
        if isinstance(error, ImportError):
            hint = import_error_hint(error)
            log.error(f"hint: {hint}")
            summary = f"{summary} ({hint})"
        return _report_init_failure(sock, summary, text)
    init_done.set()

    load_ms = round((time.monotonic() - started) * 1000)
    log.info(f"loaded predictor in {load_ms} ms")
    if batch_mode:
        handler = batch.BatchHandler(predictor, wanted, log, os.path.abspath(args.project), sock)
    else:
        handler = RequestHandler(predictor, wanted, log, post_wanted)
    # Everything allocated so far lives as long as the process; keep the GC from rescanning it.
    import gc

    gc.collect()
    gc.freeze()
    ready = {
        "args": list(wanted),
        "predict_batch": False if batch_mode else handler.has_predict_batch,
        "post_predict_args": None if post_wanted is None else list(post_wanted),
        "load_ms": load_ms,
    }
    sock.sendall(p.encode_control(p.READY, json.dumps(ready).encode()))

    try:
        if args.threads <= 1:
            _serve_inline(sock, handler, log)
        else:
            _serve_threaded(sock, handler, args.threads, log)
    except OSError as error:
        log.info(f"the connection to the replica front failed ({error}); exiting")
        _flush_and_exit(EXIT_FRONT_GONE)
    log.info("the replica front closed the connection; exiting")
    _flush_and_exit(0)
    return 0


def _report_init_failure(sock: socket.socket, message: str, text: str) -> int:
    body = json.dumps({"error": message, "traceback": text}).encode()
    try:
        sock.sendall(p.encode_control(p.INIT_FAILED, body))
    except OSError:
        pass
    _flush_and_exit(EXIT_INIT_FAILED)
    return EXIT_INIT_FAILED


def _flush_and_exit(code: int) -> None:
    # os._exit skips joining predict threads and user atexit hooks that could hang the exit.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
