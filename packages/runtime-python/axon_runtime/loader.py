"""Loads the user's predictor file and checks the Cortex-style contract before serving.

``PythonPredictor.__init__(self, config)`` and ``predict(self, payload, query_params, headers)``
receive their arguments by name, so any subset in any order works; so does the optional
``post_predict(self, response, payload, query_params, headers)``.
"""

import importlib.util
import inspect
import os
import platform
import sys

INIT_ARGS = ("config",)
PREDICT_ARGS = ("payload", "query_params", "headers")
POST_PREDICT_ARGS = ("response", "payload", "query_params", "headers")


class PredictorError(Exception):
    """The predictor breaks the contract in a way the user must fix (no traceback needed)."""


def _injected_args(func, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError) as error:
        raise PredictorError(f"cannot inspect the signature of {where}: {error}") from None
    names = []
    for param in params:
        if param.name == "self":
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in allowed:
            names.append(param.name)
        elif param.default is param.empty:
            raise PredictorError(
                f"{where} has a parameter '{param.name}' that Axon cannot provide; "
                f"its parameters may be any of: {', '.join(allowed)} (passed by name)"
            )
    return tuple(names)


def load_predictor_class(project_dir: str, rel_path: str):
    """Imports the predictor file by path and returns its ``PythonPredictor`` class."""
    path = os.path.realpath(os.path.join(project_dir, rel_path))
    root = os.path.realpath(project_dir)
    if os.path.commonpath([path, root]) != root:
        raise PredictorError(f"predictor path '{rel_path}' points outside the project {root}")
    if not os.path.isfile(path):
        raise PredictorError(f"predictor file '{rel_path}' does not exist in the project {root}")
    name = os.path.splitext(os.path.basename(path))[0]
    # Register under the file's own name (so `import predictor` and pickles referring to it
    # resolve to this module) unless that would shadow an already imported module like `json`.
    module_name = name if name.isidentifier() and name not in sys.modules else "axon_user_predictor"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PredictorError(f"predictor file '{rel_path}' cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    cls = getattr(module, "PythonPredictor", None)
    if cls is None:
        raise PredictorError(f"'{rel_path}' does not define a class named PythonPredictor")
    if not inspect.isclass(cls):
        raise PredictorError(f"PythonPredictor in '{rel_path}' is not a class")
    if not callable(getattr(cls, "predict", None)):
        raise PredictorError(f"PythonPredictor in '{rel_path}' has no predict() method")
    return cls


def predict_args(cls, rel_path: str) -> tuple[str, ...]:
    """Names of the arguments ``predict`` wants, checked before ``__init__`` runs."""
    return _injected_args(cls.predict, PREDICT_ARGS, f"PythonPredictor.predict in '{rel_path}'")


def post_predict_args(cls, rel_path: str) -> tuple[str, ...] | None:
    """Names of the arguments ``post_predict`` wants, or None when the class has no post_predict."""
    where = f"PythonPredictor.post_predict in '{rel_path}'"
    post_predict = getattr(cls, "post_predict", None)
    if post_predict is None:
        return None
    if not callable(post_predict):
        raise PredictorError(f"{where} is not a method (it is a {type(post_predict).__name__})")
    return _injected_args(post_predict, POST_PREDICT_ARGS, where)


def construct(cls, rel_path: str, config: dict):
    """Runs ``__init__`` with the arguments it declares."""
    wanted = _injected_args(cls.__init__, INIT_ARGS, f"PythonPredictor.__init__ in '{rel_path}'")
    available = {"config": config}
    return cls(**{name: available[name] for name in wanted})


# Import names whose pip package is named otherwise, for the hint below (the common ones only).
PACKAGE_OF_MODULE = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
}


def import_error_hint(error: ImportError) -> str:
    """What to do about an ImportError at start-up: which interpreter ran the predictor, where it
    came from (the API's own environment, built from its requirements.txt, or the cluster's base
    interpreter), and the requirements.txt line that fixes it. The worker cannot see AXON_PYTHON
    (the replica keeps the daemon's AXON_ variables from predictors), so it tells the two apart by
    the environment record the daemon writes into each environment it builds."""
    interpreter = f"{sys.executable} (Python {platform.python_version()})"
    if os.path.isfile(os.path.join(sys.prefix, "axon-env.json")):
        base = getattr(sys, "_base_executable", None) or sys.base_prefix
        origin = f"the API's environment (built from the project's requirements.txt over {base})"
    else:
        origin = (
            "the cluster's interpreter (AXON_PYTHON or `axon cluster up --python` when set, else the first "
            "python3 on PATH; the project has no requirements.txt with packages in it, so no environment of its own)"
        )
    module = (error.name or "").split(".")[0]
    if module:
        package = PACKAGE_OF_MODULE.get(module, module)
        fix = f"add {package} to requirements.txt in the project folder"
    else:
        fix = "add the package that provides it to requirements.txt in the project folder"
    return (
        f"the predictor ran on {interpreter}, {origin}; {fix} (Axon then builds the API an environment "
        "with it), or start the cluster with AXON_PYTHON naming a python3 that has it"
    )
