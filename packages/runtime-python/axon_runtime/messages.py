"""Wording shared by the worker's answers and log lines."""


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(error: BaseException) -> str:
    """`SystemExit(3)`, for a log line; never raises (the exception's own __repr__ may)."""
    try:
        text = repr(error)
    except Exception:
        text = type(error).__name__
    return text if len(text) <= 200 else f"{text[:200]}..."
