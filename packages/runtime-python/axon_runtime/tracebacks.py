"""Tracebacks as the user reads them: the predictor's files named relative to the project folder
(``predictor.py``), not by the unpacked copy Axon runs (``$AXON_HOME/projects/<sha>/predictor.py``),
and a syntax error's one-line summary located as ``predictor.py:3:14: SyntaxError: expected ':'``.
"""

import os
import sys
import traceback

# This package's folder: frames in it are the runtime calling the user's code, not the user's code.
RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def relative_to_project(text: str, project: str | None) -> str:
    """``text`` with every path under the project folder made relative to it."""
    if not project:
        return text
    for root in dict.fromkeys((project, os.path.realpath(project))):
        text = text.replace(root.rstrip(os.sep) + os.sep, "")
    return text


def summary_line(error: BaseException, project: str | None) -> str:
    """The exception's last line, for ``axon get`` and the deploy's error; a SyntaxError (and its
    IndentationError / TabError) leads with ``file:line:column``, which Python prints on the lines
    above its last one."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        where = f"{relative_to_project(error.filename, project)}:{error.lineno}"
        if error.offset:
            where += f":{error.offset}"
        return f"{where}: {type(error).__name__}: {error.msg}"
    return relative_to_project(traceback.format_exception_only(type(error), error)[-1].strip(), project)


def format_current_exception(project: str | None) -> str:
    """The exception being handled, formatted as Python does, without the runtime's own frames
    above the user's code (they say nothing about the user's bug) and with project-relative
    paths. A traceback entirely inside the runtime (a runtime bug) is kept whole."""
    error_type, error, tb = sys.exc_info()
    frames = []
    walk = tb
    while walk is not None:
        frames.append(walk)
        walk = walk.tb_next
    if any(not f.tb_frame.f_code.co_filename.startswith(RUNTIME_DIR) for f in frames):
        while tb is not None and tb.tb_frame.f_code.co_filename.startswith(RUNTIME_DIR):
            tb = tb.tb_next
    text = "".join(traceback.format_exception(error_type, error, tb))
    return relative_to_project(text, project)
