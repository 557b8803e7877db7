"""Errors raised by lambda-kit.

Every error the library raises derives from :class:`LambdaKitError`, so one
``except LambdaKitError`` catches them all. Each error carries the context it was
raised in (as keyword attributes and in :attr:`LambdaKitError.context`) and its
message says what was wrong and what would have been valid. No error ever holds a
secret value.

The hierarchy::

    LambdaKitError
    ├── ConfigurationError      an argument or LAMBDA_KIT_* variable is invalid
    ├── LifecycleHookError      a SnapStart before-snapshot / after-restore hook failed
    └── EmulatorError           the local emulator could not do what was asked
        └── HandlerNotReadyError  the emulated environment died or never started

Example:
    >>> from lambda_kit.exceptions import ConfigurationError, LambdaKitError
    >>> try:
    ...     raise ConfigurationError("timeout must be > 0", setting="timeout", value=-1)
    ... except LambdaKitError as error:
    ...     error.context
    {'setting': 'timeout', 'value': -1}
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ConfigurationError",
    "EmulatorError",
    "HTTPError",
    "HandlerNotReadyError",
    "LambdaKitError",
    "LifecycleHookError",
    "MetricsError",
    "ProtobufError",
    "SecretError",
]


class LambdaKitError(Exception):
    """Root of every error lambda-kit raises.

    Args:
        message: What was wrong and what is valid, in one or two sentences.
        **context: Structured facts about the failure (names, limits, codes). They
            are kept in :attr:`context` and set as attributes (unless the name is
            taken, like ``args``), so handlers can branch on them without parsing
            the message.
    """

    def __init__(self, message: str, /, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context
        for key, value in context.items():
            if not hasattr(self, key):  # never shadow message, context, args or methods
                setattr(self, key, value)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(LambdaKitError, ValueError):
    """An argument or a ``LAMBDA_KIT_*`` environment variable has an invalid value.

    Context: ``setting`` (the argument name), ``variable`` (the environment
    variable, when the value came from one) and ``value``.
    """


class LifecycleHookError(LambdaKitError):
    """One or more SnapStart hooks raised; the first failure is the ``__cause__``.

    Context: ``phase`` (``"before_snapshot"`` or ``"after_restore"``) and
    ``failures`` (the number of hooks that raised).
    """


class EmulatorError(LambdaKitError):
    """The local Lambda emulator could not do what was asked.

    Raised for problems of the emulator itself (a payload over Lambda's limit, a
    missing awslambdaric, a closed emulator), never for errors of the handler under
    test: those come back in the invocation result, as Lambda returns them.
    """


class HandlerNotReadyError(EmulatorError):
    """The emulated execution environment died or could not be started."""


# Each feature module's errors live below its own marker, so modules can grow their
# sub-hierarchies independently. The tree in the module docstring lists them all.

# --- secrets errors ---


class SecretError(LambdaKitError):
    """A secret or parameter could not be fetched, and no acceptable cached value exists.

    Context: ``secret_id`` and, when AWS answered, ``code`` (the AWS error code).
    Never carries the secret's value.
    """


# --- metrics errors ---


class MetricsError(LambdaKitError, ValueError):
    """A metric, dimension, namespace, unit or timestamp breaks an EMF or CloudWatch rule."""


# --- http errors ---


class HTTPError(LambdaKitError):
    """An HTTP request failed. Context: ``method``, ``url`` (credentials and query removed)."""


# --- protobuf errors ---


class ProtobufError(LambdaKitError):
    """A protobuf request or response could not be decoded, encoded or negotiated."""

