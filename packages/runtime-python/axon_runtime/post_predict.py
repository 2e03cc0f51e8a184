"""``post_predict``: called after a request's response was sent, off the request path (Cortex 0.20)."""

import queue
import threading
import time

from .log import RuntimeLog
from .messages import count, describe

# post_predict calls waiting for the background thread; one more is dropped (and logged).
POST_PREDICT_QUEUE_SIZE = 128
# At most one "post_predict skipped" log line per this many seconds (it counts the rest).
DROP_LOG_INTERVAL_S = 10.0


def calling_with(function, names: tuple[str, ...]):
    """`function` called with only the keyword arguments in `names` (predict, when post_predict
    needs inputs that predict does not declare)."""

    def call(**kwargs):
        return function(**{name: kwargs[name] for name in names})

    return call


class PostPredictRunner:
    """Runs ``post_predict`` calls one at a time on one background thread, after their responses
    were sent. At most POST_PREDICT_QUEUE_SIZE calls wait; beyond that a call is dropped and the
    log says so (rate-limited), so a slow post_predict costs neither memory without bound nor
    latency. An exception in post_predict is logged with the request id and its traceback."""

    def __init__(self, post_predict, args: tuple[str, ...], log: RuntimeLog, size: int = POST_PREDICT_QUEUE_SIZE):
        self._call = post_predict
        self._args = args
        self._log = log
        self._size = size
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._lock = threading.Lock()
        self._dropped = 0
        self._last_drop_log = -DROP_LOG_INTERVAL_S
        threading.Thread(target=self._run, name="axon-post-predict", daemon=True).start()

    def submit(self, jobs: list) -> None:
        put = self._queue.put_nowait
        for job in jobs:
            try:
                put(job)
            except queue.Full:
                self._note_dropped(job[0])

    def _note_dropped(self, request_id: str) -> None:
        with self._lock:
            self._dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log < DROP_LOG_INTERVAL_S:
                return
            dropped, self._dropped = self._dropped, 0
            self._last_drop_log = now
        more = f" ({count(dropped - 1, 'other call')} dropped since the last such line)" if dropped > 1 else ""
        self._log.warning(
            f"request {request_id}: post_predict() not called: {self._size} calls are already waiting, "
            f"the most a worker holds (post_predict is slower than requests arrive){more}"
        )

    def _run(self) -> None:
        get = self._queue.get
        while True:
            request_id, response, inputs = get()
            try:
                kwargs = {name: response if name == "response" else inputs[name] for name in self._args}
                self._call(**kwargs)
            except BaseException as error:  # user code: SystemExit and KeyboardInterrupt included
                self._log.error(
                    f"request {request_id}: post_predict() raised an exception: {describe(error)}",
                    with_traceback=True,
                )
            # Drop the references now rather than keep the last payload alive until the next call.
            request_id = response = inputs = kwargs = None
