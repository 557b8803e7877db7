"""Build a Lambda layer of lambda-kit, and a function's bundle, with bytecode for the runtime.

Lambda runs code from read-only directories, so a module without valid bytecode for
the runtime's Python is compiled again at every cold start. A layer zipped by hand
has none, or bytecode of another Python, or timestamp bytecode that a zip's fixed
timestamps make stale; all three cost the same. This builder makes the layer (and
the function's own bundle) as Lambda needs it:

* the wheels of the target platform (manylinux, x86_64 or aarch64, the runtime's
  CPython ABI), resolved by pip for that platform and unpacked without scripts;
* ``lambda_kit`` from this source tree, never from the package index (the name
  ``lambda-kit`` there belongs to an unrelated project); no development tools;
* nothing the runtime already has: boto3, botocore, urllib3, s3transfer,
  jmespath, python-dateutil and six, unless asked (``include_runtime_packages``);
* hash-based ``.pyc`` compiled by the target Python itself (found under pyenv or
  on PATH; without it, the build says so and what it costs);
* a byte-identical zip from the same inputs, a size and contents summary, and a
  check of Lambda's size limits.

Example:
    >>> from lambda_kit_dev.layer import build_bundle, build_layer
    >>> layer = build_layer("build/layer.zip", python="3.12", extras=["pydantic"])  # doctest: +SKIP
    >>> print(layer.summary())  # doctest: +SKIP
    >>> bundle = build_bundle(  # doctest: +SKIP
    ...     "src", "build/function.zip", requirements="src/requirements.txt", with_layers=["build/layer.zip"]
    ... )

From the command line: ``lambda-kit layer --python 3.12 --extras pydantic --out
build/layer.zip`` and ``lambda-kit bundle src --out build/function.zip``.
"""

from __future__ import annotations

from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit_dev.layer._archive import LAMBDA_LIMITS, LimitProblem, Limits, check_limits
    from lambda_kit_dev.layer._build import BuildResult, build_bundle, build_layer
    from lambda_kit_dev.layer._command import add_arguments, run
    from lambda_kit_dev.layer._errors import BuildError
    from lambda_kit_dev.layer._target import Interpreter, Target, find_interpreter
    from lambda_kit_dev.layer._wheels import RUNTIME_PACKAGES

__all__ = [
    "LAMBDA_LIMITS",
    "RUNTIME_PACKAGES",
    "BuildError",
    "BuildResult",
    "Interpreter",
    "LimitProblem",
    "Limits",
    "Target",
    "add_arguments",
    "build_bundle",
    "build_layer",
    "check_limits",
    "find_interpreter",
    "run",
]

_LAZY = {
    "LAMBDA_LIMITS": "lambda_kit_dev.layer._archive",
    "LimitProblem": "lambda_kit_dev.layer._archive",
    "Limits": "lambda_kit_dev.layer._archive",
    "check_limits": "lambda_kit_dev.layer._archive",
    "BuildResult": "lambda_kit_dev.layer._build",
    "build_bundle": "lambda_kit_dev.layer._build",
    "build_layer": "lambda_kit_dev.layer._build",
    "add_arguments": "lambda_kit_dev.layer._command",
    "run": "lambda_kit_dev.layer._command",
    "BuildError": "lambda_kit_dev.layer._errors",
    "Interpreter": "lambda_kit_dev.layer._target",
    "Target": "lambda_kit_dev.layer._target",
    "find_interpreter": "lambda_kit_dev.layer._target",
    "RUNTIME_PACKAGES": "lambda_kit_dev.layer._wheels",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
