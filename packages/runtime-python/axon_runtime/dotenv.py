"""The project's ``.env``, exported into the worker before the predictor is imported.

Cortex's container ran ``set -a; source /mnt/project/.env; set +a`` before starting the predictor,
so a ``.env`` there is bash: quotes, ``export``, ``$VAR`` expansion and comments all behave as in a
shell. Axon runs the same bash commands and copies the variables they set, so such files mean
exactly what they meant under Cortex.
"""

import os
import subprocess

from .loader import PredictorError

DOTENV = ".env"
TIMEOUT_S = 30
# Set by bash itself, not by the file.
_SHELL_VARIABLES = frozenset(("_", "SHLVL", "PWD", "OLDPWD"))
# What the source prints goes to the log (stderr), so stdout carries only the environment.
_SCRIPT = 'set -a; source "$1" >&2 && env -0'


def load_dotenv(project: str) -> tuple[list[str], list[str]]:
    """Exports the variables `project`/.env sets; returns (names set, names skipped).

    Raises PredictorError saying what went wrong when bash is missing, the file fails or hangs.
    Names starting with ``AXON_`` are the runtime's own and are skipped.
    """
    path = os.path.join(project, DOTENV)
    if not os.path.isfile(path):
        return [], []
    try:
        result = subprocess.run(
            ["bash", "-c", _SCRIPT, "axon-dotenv", path],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise PredictorError(
            "the project has a .env file, which is read with bash (as Cortex did: set -a; source .env), "
            "and bash is not installed; install bash or remove .env"
        ) from None
    except subprocess.TimeoutExpired:
        raise PredictorError(f".env did not finish within {TIMEOUT_S}s when sourced with bash; it should only set variables") from None
    errors = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        detail = f": {errors.splitlines()[-1]}" if errors else ""
        raise PredictorError(f".env failed when sourced with bash (exit code {result.returncode}){detail}")
    set_names, skipped = [], []
    for entry in result.stdout.split(b"\0"):
        name, sep, value = entry.decode("utf-8", "surrogateescape").partition("=")
        if not sep or name in _SHELL_VARIABLES or os.environ.get(name) == value:
            continue
        if name.startswith("AXON_"):
            skipped.append(name)
            continue
        os.environ[name] = value
        set_names.append(name)
    return sorted(set_names), sorted(skipped)
