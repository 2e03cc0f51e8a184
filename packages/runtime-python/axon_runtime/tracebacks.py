"""Tracebacks as the user reads them: the predictor's files named relative to the project folder
(``predictor.py``), not by the unpacked copy Axon runs (``$AXON_HOME/projects/<sha>/predictor.py``),
and a syntax error's one-line summary located as ``predictor.py:3:14: SyntaxError: expected ':'``.
"""

import os
import traceback


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
