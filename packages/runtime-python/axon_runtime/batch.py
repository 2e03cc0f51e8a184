"""Batch mode (a worker of a BatchAPI job, issue 32): Cortex 0.20's batch predictor contract.

``PythonPredictor.__init__(self, config, job_spec)`` (arguments by name, any subset), then
``predict(self, payload, batch_id)`` once per batch (its return value is ignored: results go where
the predictor writes them), and the optional ``on_job_complete(self)`` once, on one worker, after
the job's last batch. The worker is the same process as a realtime replica's, on the same socket
and frames (PROTOCOL.md, "Batch mode"); only the meaning of a REQUEST's JSON body changes:

  {"batch_id": "b-000004", "payload": [...]}   -> 200 ``null`` once predict returned,
                                                  500 ``{"error", "traceback"}`` when it raised
  {"on_job_complete": true}                     -> 200 ``{"ran": true|false}`` (false: none defined)
"""

import json
import os
import select
import socket
import threading

from . import protocol as p
from .loader import PredictorError, _injected_args
from .tracebacks import format_current_exception, summary_line

INIT_ARGS = ("config", "job_spec")
PREDICT_ARGS = ("payload", "batch_id")


def read_job_spec() -> dict:
    """The job's spec (Cortex's ``job_spec``), which the engine passes in AXON_JOB_SPEC."""
    text = os.environ.get("AXON_JOB_SPEC") or "{}"
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise PredictorError(f"the job spec in AXON_JOB_SPEC is not valid JSON: {error}") from None
    if not isinstance(spec, dict):
        raise PredictorError("the job spec in AXON_JOB_SPEC must be a JSON object")
    return spec


def batch_predict_args(cls, rel_path: str) -> tuple[str, ...]:
    """Names of the arguments a batch predictor's ``predict`` wants (payload, batch_id)."""
    return _injected_args(cls.predict, PREDICT_ARGS, f"PythonPredictor.predict in '{rel_path}'")


def construct_batch(cls, rel_path: str, config: dict, job_spec: dict):
    """Runs ``__init__(config, job_spec)`` with the arguments it declares."""
    wanted = _injected_args(cls.__init__, INIT_ARGS, f"PythonPredictor.__init__ in '{rel_path}'")
    available = {"config": config, "job_spec": job_spec}
    return cls(**{name: available[name] for name in wanted})


EXIT_FRONT_GONE = 3


def exit_when_front_closes_during_predict(sock: socket.socket, busy: threading.Event, log) -> None:
    """The engine sends a batch only after the last one was answered, so the socket turning
    readable while predict runs means the engine's end closed (the daemon was killed): stop at
    once — the batch's outcome can no longer be recorded and it will be given out again — rather
    than finish it for nobody. Runs as a daemon thread."""
    while True:
        busy.wait()
        try:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if not readable or not busy.is_set():
                continue
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                continue  # data, not a close: the serving loop reads it after predict
        except BlockingIOError:
            continue
        except OSError:
            pass
        log.info("the engine closed the connection while predict ran; exiting (the batch will be given out again)")
        os._exit(EXIT_FRONT_GONE)


class BatchHandler:
    """Turns one REQUEST frame (a batch, or the job's end) into one RESPONSE frame; never raises."""

    has_post_predict = False

    def __init__(self, predictor, args: tuple[str, ...], log, project: str, sock: socket.socket | None = None) -> None:
        self._predict = predictor.predict
        self._busy = threading.Event()
        if sock is not None:
            threading.Thread(
                target=exit_when_front_closes_during_predict, args=(sock, self._busy, log), daemon=True
            ).start()
        self._args = args
        complete = getattr(predictor, "on_job_complete", None)
        self._on_job_complete = complete if callable(complete) else None
        self._log = log
        self._project = project

    def handle(self, buf: bytes, start: int, end: int) -> bytes:
        _, seq, _, rid_len, meta_len = p.REQUEST_HEAD.unpack_from(buf, start)
        body_start = start + p.REQUEST_HEAD_SIZE + rid_len + meta_len
        try:
            message = json.loads(buf[body_start:end])
        except ValueError as error:
            return self._failed(seq, f"the batch message is not JSON: {error}", "")
        if message.get("on_job_complete") is True:
            return self._job_complete(seq)
        batch_id = message.get("batch_id")
        available = {"payload": message.get("payload"), "batch_id": batch_id}
        self._busy.set()
        try:
            self._predict(**{name: available[name] for name in self._args})
        except BaseException as error:  # user code: SystemExit and KeyboardInterrupt included
            text = format_current_exception(self._project)
            summary = summary_line(error, self._project)
            self._log.error(f"batch {batch_id}: predict() raised an exception:\n{text.rstrip()}")
            return self._failed(seq, summary, text)
        finally:
            self._busy.clear()
        return p.encode_response(seq, 200, p.CONTENT_JSON, b"null")

    def handle_batch(self, buf: bytes, start: int, end: int) -> list[bytes]:
        self._log.warning("a batch worker got a BATCH frame; it takes one REQUEST per batch")
        return []

    def _job_complete(self, seq: int) -> bytes:
        if self._on_job_complete is None:
            return p.encode_response(seq, 200, p.CONTENT_JSON, b'{"ran": false}')
        self._log.info("running on_job_complete()")
        try:
            self._on_job_complete()
        except BaseException as error:
            text = format_current_exception(self._project)
            self._log.error(f"on_job_complete() raised an exception:\n{text.rstrip()}")
            return self._failed(seq, summary_line(error, self._project), text)
        return p.encode_response(seq, 200, p.CONTENT_JSON, b'{"ran": true}')

    def _failed(self, seq: int, error: str, traceback: str) -> bytes:
        body = json.dumps({"error": error, "traceback": traceback}).encode()
        return p.encode_response(seq, 500, p.CONTENT_JSON, body)
