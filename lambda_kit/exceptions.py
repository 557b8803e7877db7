"""Errors raised by lambda-kit.

Every error the library raises derives from :class:`LambdaKitError`, so one
``except LambdaKitError`` catches them all. Each error carries the context it was
raised in (as keyword attributes and in :attr:`LambdaKitError.context`) and its
message says what was wrong and what would have been valid. No error ever holds a
secret value. The development tools add their own branch, in
:mod:`lambda_kit_dev.exceptions` (``EmulatorError`` and ``HandlerNotReadyError``):
they derive from :class:`LambdaKitError`, and this package never imports them.

The hierarchy::

    LambdaKitError
    ├── ConfigurationError (ValueError)   an argument or LAMBDA_KIT_* variable is invalid
    ├── HTTPError                         lambda_kit.http: a request failed
    │   ├── HTTPConnectionError (ConnectionError)
    │   ├── HTTPStatusError
    │   ├── HTTPTimeoutError (TimeoutError)
    │   └── InvalidURLError (ValueError)
    ├── HandlerError                      lambda_kit.handler: an event could not become a call
    │   ├── BatchError                    a whole batch failed: Lambda retries it
    │   ├── EventShapeError (ValueError)
    │   ├── InputValidationError (ValueError)
    │   ├── TemporaryFailureError         an S3 Batch Operations task S3 should retry
    │   └── UnauthorizedError             an authorizer's 401 ("Unauthorized")
    ├── LifecycleHookError                a SnapStart before-snapshot / after-restore hook failed
    ├── MetricsError (ValueError)         lambda_kit.metrics: an EMF or CloudWatch rule is broken
    │   ├── InvalidDimensionError
    │   │   └── DimensionSetExceededError
    │   ├── InvalidMetricError
    │   │   ├── InvalidMetricNameError
    │   │   ├── InvalidMetricValueError
    │   │   ├── InvalidStorageResolutionError
    │   │   └── InvalidUnitError
    │   ├── InvalidNamespaceError
    │   ├── InvalidPropertyError
    │   └── InvalidTimestampError
    ├── ProtobufError                     lambda_kit.protobuf: decode, encode or negotiation failed
    │   ├── NotAcceptableError
    │   ├── ProtobufDecodeError (ValueError)
    │   │   └── UnsupportedMediaTypeError
    │   └── ResponseTooLargeError
    └── SecretError                       lambda_kit.secrets: no fetch, and no acceptable cached value

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
    "BatchError",
    "ConfigurationError",
    "DimensionSetExceededError",
    "EventShapeError",
    "HTTPConnectionError",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTimeoutError",
    "HandlerError",
    "InputValidationError",
    "InvalidDimensionError",
    "InvalidMetricError",
    "InvalidMetricNameError",
    "InvalidMetricValueError",
    "InvalidNamespaceError",
    "InvalidPropertyError",
    "InvalidStorageResolutionError",
    "InvalidTimestampError",
    "InvalidURLError",
    "InvalidUnitError",
    "LambdaKitError",
    "LifecycleHookError",
    "MetricsError",
    "NotAcceptableError",
    "ProtobufDecodeError",
    "ProtobufError",
    "ResponseTooLargeError",
    "SecretError",
    "TemporaryFailureError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
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

    Context: ``setting`` (the setting, as in its variable: ``http_timeout`` for
    ``LAMBDA_KIT_HTTP_TIMEOUT``), ``argument`` (the argument as the user typed it:
    ``timeout``, when there is one), ``variable`` (the environment variable, when the
    value came from one) and ``value`` (what was given).
    """


class LifecycleHookError(LambdaKitError):
    """One or more SnapStart hooks raised; the first failure is the ``__cause__``.

    Context: ``phase`` (``"before_snapshot"`` or ``"after_restore"``) and
    ``failures`` (the number of hooks that raised).
    """


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


class InvalidNamespaceError(MetricsError):
    """A namespace is empty, longer than 256 characters or has a character outside ``a-zA-Z0-9._#:/-``.

    Context: ``namespace``.
    """


class InvalidMetricError(MetricsError):
    """A metric cannot be recorded; the subclasses say which part is wrong. Context: ``metric``."""


class InvalidMetricNameError(InvalidMetricError):
    """A metric name is empty, blank, too long, reserved or already used by a dimension or property."""


class InvalidMetricValueError(InvalidMetricError):
    """A metric value is not a finite number within CloudWatch's range (NaN, infinities, bools rejected)."""


class InvalidUnitError(InvalidMetricError):
    """A unit is not one of CloudWatch's StandardUnit names, or differs from the one already recorded."""


class InvalidStorageResolutionError(InvalidMetricError):
    """A storage resolution is not 1 or 60, or one metric name was given both in one blob."""


class InvalidDimensionError(MetricsError):
    """A dimension name or value is not a non-blank ASCII string within its length limit."""


class DimensionSetExceededError(InvalidDimensionError):
    """A dimension set would hold more than 30 dimensions (default dimensions included)."""


class InvalidPropertyError(MetricsError):
    """A property key is reserved or taken, or its value is not finite JSON within the size budget."""


class InvalidTimestampError(MetricsError):
    """A timestamp is more than 14 days in the past or more than 2 hours in the future."""


# --- http errors ---


class HTTPError(LambdaKitError):
    """An HTTP request failed. Context: ``method``, ``url`` (credentials and query removed)."""


class HTTPTimeoutError(HTTPError, TimeoutError):
    """An HTTP request ran out of time: its own timeout or the invocation's deadline.

    Context: ``method``, ``url``, ``budget`` (the seconds the request was allowed),
    ``attempts`` and ``limit`` (``"timeout"`` or ``"deadline"``: which bound was hit).
    """


class HTTPConnectionError(HTTPError, ConnectionError):
    """No usable connection: connect, TLS or transport failure after the allowed retries.

    Context: ``method``, ``url``, ``attempts`` and ``reason`` (the underlying error's type).
    """


class HTTPStatusError(HTTPError):
    """A response had an error status (raised by ``Response.raise_for_status()``).

    Context: ``method``, ``url``, ``status`` and ``response`` (its body is never in the message).
    """


class InvalidURLError(HTTPError, ValueError):
    """A URL cannot be requested: no http(s) scheme or host, or credentials embedded in it.

    Context: ``url`` (credentials and query removed).
    """


# --- handler errors ---


class HandlerError(LambdaKitError):
    """An adapter could not turn an event into a call of the core function."""


class InputValidationError(HandlerError, ValueError):
    """Outside input does not fit the core function's input type.

    Context: ``errors``, a list of ``{"loc": [...], "msg": ..., "type": ...}`` dicts
    (the shape pydantic uses), safe to return to the client: they never include the
    rejected value.
    """


class EventShapeError(HandlerError, ValueError):
    """The event is not of the shape this adapter handles (an SQS adapter given an SNS event, say)."""


class BatchError(HandlerError):
    """Every record of a batch failed, or a failed record has no id to report.

    Raised so that Lambda retries the whole batch. Context: ``failed`` and ``total``.
    """


class TemporaryFailureError(HandlerError):
    """Raise it from an S3 Batch Operations core to answer ``TemporaryFailure``: S3 retries the task."""


class UnauthorizedError(HandlerError):
    """The caller's credentials are not valid: API Gateway answers 401 (REST APIs).

    Its message is exactly ``Unauthorized``, the error message API Gateway maps to a
    401 for a Lambda authorizer. A core may raise it as well as return ``None``.
    """

    def __init__(self) -> None:
        super().__init__("Unauthorized")


# --- protobuf errors ---


class ProtobufError(LambdaKitError):
    """A protobuf request or response could not be decoded, encoded or negotiated."""


class ProtobufDecodeError(ProtobufError, ValueError):
    """A request body is not a valid message of the expected type (HTTP 400).

    Context: ``message_type`` (the message's full name), ``media_type`` (the
    request's Content-Type without parameters) and, for a bad body, ``reason``.
    """

    status_code = 400


class UnsupportedMediaTypeError(ProtobufDecodeError):
    """A request's Content-Type is neither protobuf nor JSON (HTTP 415).

    Context: ``media_type`` and ``supported`` (the media types accepted).
    """

    status_code = 415


class NotAcceptableError(ProtobufError):
    """The client's Accept header allows none of the media types offered (HTTP 406).

    Context: ``accept`` (the header, shortened) and ``acceptable`` (the offers).
    """

    status_code = 406


class ResponseTooLargeError(ProtobufError):
    """An encoded response would exceed the invocation's payload limit.

    Raised before Lambda (6 MB synchronous) or an ALB (1 MB) rejects it with an
    opaque error. Context: ``size`` and ``limit`` in bytes, ``integration``,
    ``media_type``.
    """
