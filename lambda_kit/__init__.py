"""lambda-kit: fast, cheap, robust AWS Lambda handlers.

lambda-kit turns the performance practices AWS teaches for Lambda into importable
utilities, each measured for its cold (INIT) and warm (per-invocation) cost. This
package is what runs inside Lambda (and what a Layer vendors); the emulator, the
``lambda-kit`` command and the test stand-ins live apart, in :mod:`lambda_kit_dev`.

Importing ``lambda_kit`` loads nothing but this file: every public name is
re-exported lazily and its module is imported on first access.

Example:
    >>> import lambda_kit
    >>> @lambda_kit.track_invocations
    ... def handler(event: dict, context: object) -> dict:
    ...     return {"cold_start": lambda_kit.is_cold_start()}
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit._types import LambdaContext
    from lambda_kit.exceptions import (
        ConfigurationError,
        HandlerError,
        HTTPError,
        LambdaKitError,
        LifecycleHookError,
        MetricsError,
        ProtobufError,
        SecretError,
    )
    from lambda_kit.lifecycle import (
        is_cold_start,
        on_after_restore,
        on_before_snapshot,
        track_invocations,
    )
    from lambda_kit.metrics import Metrics
    from lambda_kit.secrets import Parameter, Secret

__version__ = "0.1.0.dev0"

__all__ = [
    "ConfigurationError",
    "HTTPError",
    "HandlerError",
    "LambdaContext",
    "LambdaKitError",
    "LifecycleHookError",
    "Metrics",
    "MetricsError",
    "Parameter",
    "ProtobufError",
    "Secret",
    "SecretError",
    "__version__",
    "is_cold_start",
    "on_after_restore",
    "on_before_snapshot",
    "track_invocations",
]

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "ConfigurationError": "lambda_kit.exceptions",
    "HTTPError": "lambda_kit.exceptions",
    "HandlerError": "lambda_kit.exceptions",
    "LambdaContext": "lambda_kit._types",
    "LambdaKitError": "lambda_kit.exceptions",
    "LifecycleHookError": "lambda_kit.exceptions",
    "Metrics": "lambda_kit.metrics",
    "MetricsError": "lambda_kit.exceptions",
    "Parameter": "lambda_kit.secrets",
    "ProtobufError": "lambda_kit.exceptions",
    "Secret": "lambda_kit.secrets",
    "SecretError": "lambda_kit.exceptions",
    "is_cold_start": "lambda_kit.lifecycle",
    "on_after_restore": "lambda_kit.lifecycle",
    "on_before_snapshot": "lambda_kit.lifecycle",
    "track_invocations": "lambda_kit.lifecycle",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_kit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
