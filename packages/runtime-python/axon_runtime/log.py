"""The runtime's own log lines: ``2026-11-23 16:50:01.123 INFO [api replica w0] message``.

They go to the original stderr so a predictor that swaps ``sys.stderr`` does not hide them; the
user's own print()/logging output is left untouched.
"""

import sys
import time

from .tracebacks import format_current_exception


class RuntimeLog:
    __slots__ = ("_tag", "_stream", "_project")

    def __init__(self, api: str, replica: str, worker: int, project: str | None = None) -> None:
        self._tag = f"[{api} {replica} w{worker}]"
        self._stream = sys.__stderr__ or sys.stderr
        # Tracebacks name the user's files relative to this folder (see tracebacks.py).
        self._project = project

    def _emit(self, level: str, message: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        line = f"{stamp}.{int(now % 1 * 1000):03d} {level} {self._tag} {message}\n"
        try:
            self._stream.write(line)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # the log file is gone; serving matters more than logging

    def info(self, message: str) -> None:
        self._emit("INFO", message)

    def warning(self, message: str) -> None:
        self._emit("WARNING", message)

    def error(self, message: str, with_traceback: bool = False) -> None:
        if with_traceback:
            message = f"{message}\n{format_current_exception(self._project).rstrip()}"
        self._emit("ERROR", message)
