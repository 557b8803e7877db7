"""CloudWatch metrics through the Embedded Metric Format (EMF), at near-zero cold and warm cost.

Calling ``PutMetricData`` from a handler is a synchronous HTTPS request per
invocation, throttled at a few hundred requests per second per Region. EMF instead
writes one JSON line to stdout; CloudWatch Logs turns it into metrics asynchronously,
with no request, no client and no quota on the invocation's path.

The model: a :class:`Metrics` object created at module scope (INIT) collects the
metrics of an invocation, and :meth:`Metrics.flush` writes them as one compact EMF
line (several when the EMF limits require: at most 100 metrics per line and 100
values per metric, so nothing is ever dropped). ``@metrics.log_metrics`` flushes in
``finally``, so a failing invocation still reports its metrics, and can record a
``ColdStart`` metric for the first invocation of the environment, failed or not.

Every input is checked when it is added, with a precise error (subclasses of
:class:`~lambda_kit.exceptions.MetricsError`): CloudWatch silently drops an invalid
EMF line, so nothing invalid is ever written. The checks are precomputed sets and
string methods, and the JSON line is assembled from fragments cached per metric name,
which makes a warm ``put_metric`` cost a fraction of a microsecond.

State lives on the instance and is guarded by a lock: several threads (Lambda Managed
Instances run invocations concurrently in one process) can add metrics at once; a
flush takes everything added so far exactly once. Lines are written under one lock
shared by every logger, so concurrent flushes never mix their lines. For metrics with
their own dimensions, use :meth:`Metrics.new`, an independent logger that shares the
configuration.

The method names are those of aws-embedded-metrics' ``MetricsLogger``, so moving
from it is mostly a changed import; ``add_metric`` / ``add_dimension`` /
``add_metadata`` cover code written for Powertools for AWS Lambda.

Example:
    >>> from lambda_kit.metrics import Metrics
    >>> metrics = Metrics(namespace="Shop", service="orders")
    >>> @metrics.log_metrics(capture_cold_start_metric=True)
    ... def handler(event: dict, context: object) -> dict:
    ...     metrics.put_dimensions({"operation": "checkout"})
    ...     metrics.put_metric("Latency", 12.5, "Milliseconds")
    ...     return {"ok": True}
"""

from __future__ import annotations

import _thread
import os
import sys
import time

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations need none of it
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any, ParamSpec, TypeAlias, TypeVar, overload

    from lambda_kit.exceptions import LambdaKitError

    P = ParamSpec("P")
    R = TypeVar("R")
    # (unit as given, resolution as given, unit, resolution, definition fragment, member prefix)
    Known: TypeAlias = "tuple[object, object, str, int, str, str]"

__all__ = ["DEFAULT_NAMESPACE", "STANDARD_UNITS", "Metrics", "StorageResolution", "Unit"]

DEFAULT_NAMESPACE = "lambda-kit"
"""The namespace used when neither an argument nor an environment variable names one."""


class Unit:
    """CloudWatch's StandardUnit names, as constants (plain strings: ``Unit.COUNT == "Count"``)."""

    SECONDS = "Seconds"
    MICROSECONDS = "Microseconds"
    MILLISECONDS = "Milliseconds"
    BYTES = "Bytes"
    KILOBYTES = "Kilobytes"
    MEGABYTES = "Megabytes"
    GIGABYTES = "Gigabytes"
    TERABYTES = "Terabytes"
    BITS = "Bits"
    KILOBITS = "Kilobits"
    MEGABITS = "Megabits"
    GIGABITS = "Gigabits"
    TERABITS = "Terabits"
    PERCENT = "Percent"
    COUNT = "Count"
    BYTES_PER_SECOND = "Bytes/Second"
    KILOBYTES_PER_SECOND = "Kilobytes/Second"
    MEGABYTES_PER_SECOND = "Megabytes/Second"
    GIGABYTES_PER_SECOND = "Gigabytes/Second"
    TERABYTES_PER_SECOND = "Terabytes/Second"
    BITS_PER_SECOND = "Bits/Second"
    KILOBITS_PER_SECOND = "Kilobits/Second"
    MEGABITS_PER_SECOND = "Megabits/Second"
    GIGABITS_PER_SECOND = "Gigabits/Second"
    TERABITS_PER_SECOND = "Terabits/Second"
    COUNT_PER_SECOND = "Count/Second"
    NONE = "None"


class StorageResolution:
    """EMF storage resolutions: ``STANDARD`` (60 s) and ``HIGH`` (1 s, billed as high-resolution)."""

    STANDARD = 60
    HIGH = 1


STANDARD_UNITS = frozenset(value for name, value in vars(Unit).items() if name.isupper())
"""Every unit CloudWatch accepts (its ``StandardUnit`` list)."""

# EMF and CloudWatch limits (EMF specification; CloudWatch PutMetricData and Dimension).
_MAX_METRICS_PER_BLOB = 100
_MAX_VALUES_PER_METRIC = 100
_MAX_DIMENSIONS_PER_SET = 30
_MAX_METRIC_NAME = 255
_MAX_DIMENSION_NAME = 250
_MAX_DIMENSION_VALUE = 1024
_MAX_NAMESPACE = 256
_MAX_VALUE = 2.0**360  # CloudWatch rejects values outside +-2^360
_EXACT_INT = 2**53  # larger integers are written as floats, as CloudWatch stores doubles
_PAST_MS = 14 * 24 * 3600 * 1000
_FUTURE_MS = 2 * 3600 * 1000
_MAX_EVENT = 1_000_000  # CloudWatch Logs accepts events up to 1 MiB; keep a margin
_MAX_PROPERTIES = 256 * 1024  # encoded properties per blob, so the metrics always fit
_KNOWN_NAMES_LIMIT = 4096  # the per-instance cache of validated names stays bounded
_NAMESPACE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._#:/-"
_UNIT_LIST = ", ".join(sorted(STANDARD_UNITS))

# Test hook (lambda_kit.testing.capture_metrics): when not empty, the last sink gets
# every blob instead of sys.stdout.
_sinks: list[Callable[[str], object]] = []

# Held around every write of every logger (new() children and ColdStart blobs included):
# concurrent large writes to one text stream interleave, and CloudWatch silently drops
# the mixed lines. Re-entrant, so a signal handler that flushes metrics while the main
# thread is writing cannot deadlock.
_write_lock = _thread.RLock()


def _write(blobs: Iterable[str]) -> None:
    """Write whole EMF lines under the module's write lock, then flush the stream.

    The flush makes the lines leave the process before the invocation ends (a frozen
    or recycled execution environment would otherwise hold or lose a buffered line).
    Whatever the stream raises propagates (``log_metrics`` turns it into a warning).
    """
    with _write_lock:
        if _sinks:
            sink = _sinks[-1]
            for blob in blobs:
                sink(blob)
            return
        stream = sys.stdout
        if stream is None:  # pythonw, or a process that set it so: print() would drop the line
            raise ValueError("sys.stdout is None: there is no stream to write the EMF line to")
        for blob in blobs:
            stream.write(blob)
        flush = getattr(stream, "flush", None)
        if flush is not None:
            flush()


# -- validation helpers (each raises the named error) ------------------------------------


def _error(name: str, message: str, /, **context: Any) -> LambdaKitError:
    """The named error of :mod:`lambda_kit.exceptions`, imported only when one is raised.

    Importing the whole exception tree would cost more than this module itself, and
    valid input never needs it.
    """
    from lambda_kit import exceptions

    error: LambdaKitError = getattr(exceptions, name)(message, **context)
    return error


def _json_str(text: str) -> str:
    """``text`` as a JSON string literal; plain printable ASCII skips the json module."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    import json

    return json.dumps(text)


def _check_namespace(namespace: object) -> str:
    if (
        not isinstance(namespace, str)
        or not namespace
        or len(namespace) > _MAX_NAMESPACE
        or namespace.strip(_NAMESPACE_CHARS)
        or namespace.startswith("AWS/")
    ):
        raise _error(
            "InvalidNamespaceError",
            f"Invalid namespace {namespace!r}; expected 1-{_MAX_NAMESPACE} characters from "
            f"a-z A-Z 0-9 . _ # : / - not starting with 'AWS/'.",
            namespace=namespace,
        )
    return namespace


def _check_metric_name(name: object) -> str:
    if not isinstance(name, str):
        problem = f"must be a str, not {type(name).__name__}"
    elif not name.strip():
        problem = "must contain a non-whitespace character"
    elif len(name) > _MAX_METRIC_NAME:
        problem = f"is {len(name)} characters long; the limit is {_MAX_METRIC_NAME}"
    elif not name.isprintable():
        problem = "contains a control character"
    elif name == "_aws":
        problem = "is reserved for EMF metadata"
    else:
        return name
    shown = name[:80] if isinstance(name, str) else name
    raise _error("InvalidMetricNameError", f"Invalid metric name {shown!r}: it {problem}.", metric=name)


def _check_unit(name: str, unit: object) -> str:
    if isinstance(unit, str) and unit in STANDARD_UNITS:
        return unit
    # Enum members (aws-embedded-metrics' Unit, Powertools' MetricUnit) carry the name.
    value = getattr(unit, "value", None)
    if isinstance(value, str) and value in STANDARD_UNITS:
        return value
    if unit is None:
        return "None"
    raise _error(
        "InvalidUnitError",
        f"Invalid unit {unit!r} for metric {name!r}; expected one of: {_UNIT_LIST}.",
        metric=name,
        unit=unit,
    )


def _check_resolution(name: str, resolution: object) -> int:
    value = getattr(resolution, "value", resolution)  # accepts the peers' enums too
    if value.__class__ is int and (value == 60 or value == 1):
        return value
    raise _error(
        "InvalidStorageResolutionError",
        f"Invalid storage resolution {resolution!r} for metric {name!r}; expected 60 (standard) or 1 (high).",
        metric=name,
        storage_resolution=resolution,
    )


def _invalid_value(name: str, value: object, why: str) -> LambdaKitError:
    return _error(
        "InvalidMetricValueError",
        f"Invalid value {value!r} for metric {name!r}: {why}; expected a finite number within +-2^360.",
        metric=name,
        value=value,
    )


def _coerce_value(name: str, value: object) -> float | int:
    """The slow path of the value check: anything but a plain small int or finite float."""
    if isinstance(value, bool):
        raise _invalid_value(name, value, "a bool is not a number")
    if isinstance(value, (str, bytes, bytearray)):
        raise _invalid_value(name, value, "text is not a number")
    number: float | int
    if isinstance(value, int):
        number = int(value)  # drops subclasses (IntEnum) so the JSON is a plain number
        if -_EXACT_INT <= number <= _EXACT_INT:
            return number
    try:
        number = float(value)  # type: ignore[arg-type]  # Decimal, Fraction, numpy scalars, ...
    except (TypeError, ValueError, OverflowError):
        raise _invalid_value(name, value, "not a number CloudWatch can store") from None
    if not -_MAX_VALUE <= number <= _MAX_VALUE:  # also false for NaN
        raise _invalid_value(name, value, "NaN, infinite or out of range")
    return number


def _check_dimension(name: object, value: object) -> None:
    if not isinstance(name, str):
        raise _error(
            "InvalidDimensionError",
            f"Invalid dimension name {name!r}: it must be a str, not {type(name).__name__}.",
            dimension=name,
        )
    problem = _text_problem(name, _MAX_DIMENSION_NAME)
    if problem is None and name.startswith(":"):
        problem = "starts with ':'"
    if problem is None and name == "_aws":
        problem = "is reserved for EMF metadata"
    if problem is not None:
        raise _error(
            "InvalidDimensionError", f"Invalid dimension name {name[:80]!r}: it {problem}.", dimension=name
        )
    if not isinstance(value, str):
        raise _error(
            "InvalidDimensionError",
            f"Invalid value for dimension {name!r}: it must be a str, not {type(value).__name__} "
            "(convert it with str() if it is meant as a label).",
            dimension=name,
        )
    problem = _text_problem(value, _MAX_DIMENSION_VALUE)
    if problem is not None:
        raise _error(
            "InvalidDimensionError",
            f"Invalid value {value[:80]!r} for dimension {name!r}: it {problem}.",
            dimension=name,
        )


def _text_problem(text: str, limit: int) -> str | None:
    if not text.strip():
        return "must contain a non-whitespace character"
    if len(text) > limit:
        return f"is {len(text)} characters long; the limit is {limit}"
    if not text.isascii() or not text.isprintable():
        return "must be printable ASCII"
    return None


def _check_dimension_set(dimensions: object) -> dict[str, str]:
    """A validated copy of one dimension set (the slow path, with precise errors)."""
    if not hasattr(dimensions, "items"):
        raise _error(
            "InvalidDimensionError",
            f"A dimension set must be a mapping of names to values, not {type(dimensions).__name__}.",
        )
    checked: dict[str, str] = dict(dimensions.items())
    for name, value in checked.items():
        _check_dimension(name, value)
    return checked


def _to_epoch_ms(timestamp: object) -> int:
    if isinstance(timestamp, bool):
        epoch_ms: float = float("nan")
    elif isinstance(timestamp, (int, float)):
        epoch_ms = timestamp
    elif callable(getattr(timestamp, "timestamp", None)):
        try:
            epoch_ms = timestamp.timestamp() * 1000.0  # type: ignore[attr-defined]  # a datetime
        except (OverflowError, OSError, ValueError):  # naive datetimes near year 1 or 9999
            epoch_ms = float("nan")
    else:
        raise _error(
            "InvalidTimestampError",
            f"Invalid timestamp {timestamp!r}; expected a datetime or epoch milliseconds.",
            timestamp=timestamp,
        )
    now = time.time() * 1000.0
    if not now - _PAST_MS <= epoch_ms <= now + _FUTURE_MS:  # also false for NaN
        raise _error(
            "InvalidTimestampError",
            f"Invalid timestamp {timestamp!r}; CloudWatch accepts times from 14 days ago to 2 hours ahead.",
            timestamp=timestamp,
        )
    return round(epoch_ms)


def _warn_not_written(what: str, error: BaseException) -> None:
    """Log that ``what`` could not be written (logging is imported only on this rare path).

    The warning itself must not fail the invocation either: with stdout and stderr
    both gone, a logging handler may raise too, and then nothing more can be said.
    """
    import logging

    try:
        logging.getLogger(__name__).warning(
            "lambda_kit.metrics: %s could not be written and was dropped: %s: %s",
            what,
            type(error).__name__,
            error,
        )
    except Exception:  # noqa: S110 - nowhere left to report to; the handler's outcome wins
        pass


# -- configuration ------------------------------------------------------------------------


def _from_environment(setting: str, peers: tuple[str, ...], check: Callable[[str], object]) -> str | None:
    """``LAMBDA_KIT_<SETTING>``, then the peers' variables (migration), then None.

    Each source is read only when every source before it is unset or blank, so an
    invalid lower-priority variable (left over from a migration, say) never breaks a
    valid configuration; the variable actually used is validated and named on error.
    """
    from lambda_kit._config import UNSET, resolve
    from lambda_kit.exceptions import MetricsError

    def parse(raw: str) -> str | None:
        value = raw.strip()
        try:
            check(value)
        except MetricsError as error:
            raise ValueError(str(error)) from None
        return value

    value = resolve(setting, UNSET, None, parse, valid="a valid value")
    if value is not None:
        return value
    for variable in peers:
        raw = os.environ.get(variable, "").strip()
        if raw:
            try:
                check(raw)
            except MetricsError as error:
                raise _error(
                    "ConfigurationError",
                    f"Invalid {variable}={raw!r}: {error}",
                    setting=setting,
                    variable=variable,
                    value=raw,
                ) from None
            return raw
    return None


def _check_service(service: str) -> None:
    _check_dimension("service", service)


# -- serialization --------------------------------------------------------------------------


def _effective_sets(
    defaults: dict[str, str], custom: list[dict[str, str]] | None, use_default: bool
) -> list[dict[str, str]]:
    """The dimension sets a blob carries (aws-embedded-metrics' rules for defaults)."""
    if not custom:
        return [defaults] if use_default and defaults else []
    if use_default and defaults:
        return [{**defaults, **dimensions} for dimensions in custom]
    return custom


def _check_one_value_per_name(sets: list[dict[str, str]]) -> None:
    """Raise if two dimension sets give one name different values (a blob holds one value)."""
    seen: dict[str, str] = {}
    for dimensions in sets:
        for name, value in dimensions.items():
            previous = seen.setdefault(name, value)
            if previous != value:
                raise _error(
                    "InvalidDimensionError",
                    f"Dimension {name!r} would have the value {previous!r} in one dimension set and "
                    f"{value!r} in another; an EMF line holds one value per dimension name, so both "
                    "values are not allowed in one blob. Use metrics.new() for a separate blob, or "
                    "flush first.",
                    dimension=name,
                )


def _member(known: Known, values: list[float | int]) -> str:
    if len(values) == 1:
        return known[5] + repr(values[0])
    return known[5] + "[" + ",".join(map(repr, values)) + "]"


def _split(entries: Iterable[list[Any]], prefix: str, suffix: str) -> list[str]:
    """The general case: rounds of at most 100 values per metric, blobs of at most 100 metrics."""
    pending = [(entry[0], entry[1:]) for entry in entries]
    budget = _MAX_EVENT - len(prefix) - len(suffix)
    blobs: list[str] = []
    start = 0
    while pending:
        definitions: list[str] = []
        members: list[str] = []
        size = 0
        for known, values in pending:
            member = _member(known, values[start : start + _MAX_VALUES_PER_METRIC])
            cost = len(known[4]) + len(member) + 1
            if definitions and (len(definitions) == _MAX_METRICS_PER_BLOB or size + cost > budget):
                blobs.append(prefix + ",".join(definitions) + "]}]}" + suffix + "".join(members) + "}\n")
                definitions, members, size = [], [], 0
            if cost > budget:
                raise _error(
                    "MetricsError",
                    f"Metric {known[5][1:-1]} does not fit in one 1 MB EMF event beside its dimensions "
                    "and properties; nothing was written.",
                )
            definitions.append(known[4])
            members.append(member)
            size += cost
        blobs.append(prefix + ",".join(definitions) + "]}]}" + suffix + "".join(members) + "}\n")
        start += _MAX_VALUES_PER_METRIC
        pending = [item for item in pending if len(item[1]) > start]
    return blobs


class Metrics:
    """A collector of CloudWatch metrics, written as EMF lines to stdout.

    Create one at module scope and flush it once per invocation, usually with
    :meth:`log_metrics`. Inputs are validated when added and raise a subclass of
    :class:`~lambda_kit.exceptions.MetricsError`; what reaches stdout is always valid EMF.

    Args:
        namespace: CloudWatch namespace. Default: ``LAMBDA_KIT_METRICS_NAMESPACE``,
            then ``AWS_EMF_NAMESPACE``, then ``POWERTOOLS_METRICS_NAMESPACE``, then
            ``"lambda-kit"``.
        service: The service name. Default: ``LAMBDA_KIT_SERVICE_NAME``, then
            ``AWS_EMF_SERVICE_NAME``, then ``POWERTOOLS_SERVICE_NAME``, then none.
        dimensions: Default dimensions, added to every dimension set. Default:
            ``{"service": service}`` when a service is known, else none. Pass a mapping
            to choose others (``{}`` for none).
        function_name: Value of the ``function_name`` dimension of the ``ColdStart``
            metric. Default: ``LAMBDA_KIT_METRICS_FUNCTION_NAME``, then
            ``POWERTOOLS_METRICS_FUNCTION_NAME``, then ``context.function_name``, then
            ``AWS_LAMBDA_FUNCTION_NAME``.

    Raises:
        InvalidNamespaceError: ``namespace`` is not a valid CloudWatch namespace.
        InvalidDimensionError: ``service`` or a default dimension is invalid.
        ConfigurationError: An environment variable holds an invalid value.

    Example:
        >>> metrics = Metrics(namespace="Shop", service="orders")
        >>> metrics.put_metric("ItemsSold", 3, "Count").put_metric("Latency", 8.5, "Milliseconds")
        Metrics(namespace='Shop', service='orders')
        >>> metrics.flush()  # doctest: +SKIP
    """

    __slots__ = (
        "_cold_request_id",
        "_custom",
        "_default_fragments",
        "_default_taken",
        "_defaults",
        "_function_name",
        "_known",
        "_lock",
        "_metrics",
        "_name_json",
        "_namespace",
        "_namespace_json",
        "_properties",
        "_properties_size",
        "_service",
        "_sets",
        "_taken",
        "_timestamp",
        "_use_default",
        "_value_json",
    )

    def __init__(
        self,
        namespace: str | None = None,
        service: str | None = None,
        *,
        dimensions: Mapping[str, str] | None = None,
        function_name: str | None = None,
    ) -> None:
        if namespace is None:
            namespace = (
                _from_environment(
                    "metrics_namespace",
                    ("AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"),
                    _check_namespace,
                )
                or DEFAULT_NAMESPACE
            )
        if service is None:
            service = _from_environment(
                "service_name", ("AWS_EMF_SERVICE_NAME", "POWERTOOLS_SERVICE_NAME"), _check_service
            )
        else:
            _check_service(service)
        if function_name is None:
            function_name = _from_environment(
                "metrics_function_name", ("POWERTOOLS_METRICS_FUNCTION_NAME",), self._check_function_name
            )
        else:
            self._check_function_name(function_name)
        if dimensions is None:
            defaults = {"service": service} if service else {}
        else:
            defaults = _check_dimension_set(dimensions)
            if len(defaults) > _MAX_DIMENSIONS_PER_SET:
                raise _error(
                    "DimensionSetExceededError",
                    f"{len(defaults)} default dimensions; EMF allows at most {_MAX_DIMENSIONS_PER_SET}.",
                    size=len(defaults),
                )
        self._configure(_check_namespace(namespace), service, function_name, defaults, ({}, {}, {}))

    @staticmethod
    def _check_function_name(value: str) -> None:
        _check_dimension("function_name", value)

    def _configure(
        self,
        namespace: str,
        service: str | None,
        function_name: str | None,
        defaults: dict[str, str],
        caches: tuple[dict[str, Known], dict[str, str], dict[str, str]],
    ) -> None:
        # Validated names and values with their JSON fragments; immutable entries, so the
        # caches are thread-safe and shared with the loggers that new() makes.
        self._known, self._name_json, self._value_json = caches
        self._namespace = namespace
        self._namespace_json = _json_str(namespace)
        self._service = service
        self._function_name = function_name
        self._defaults = defaults
        self._default_fragments = self._dimension_fragments(_effective_sets(defaults, None, True))
        self._default_taken = frozenset(("_aws", *defaults))
        self._lock = _thread.allocate_lock()
        self._metrics: dict[str, list[Any]] = {}
        self._cold_request_id: str | None = None
        self._reset_context()

    def _reset_context(self) -> None:
        """Forget custom dimensions, properties and the timestamp (after each flush)."""
        self._custom: list[dict[str, str]] | None = None
        self._use_default = True
        self._sets: list[dict[str, str]] | None = None  # None: the defaults, fragments cached
        self._properties: dict[str, str] = {}
        self._properties_size = 0
        self._taken = self._default_taken
        self._timestamp: int | None = None

    # -- configuration -------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The CloudWatch namespace of the next blob."""
        return self._namespace

    @property
    def service(self) -> str | None:
        """The service name resolved at construction, if any."""
        return self._service

    @property
    def default_dimensions(self) -> dict[str, str]:
        """A copy of the dimensions added to every dimension set."""
        return dict(self._defaults)

    def __repr__(self) -> str:
        return f"Metrics(namespace={self._namespace!r}, service={self._service!r})"

    def new(self) -> Metrics:
        """An independent logger with this one's namespace and default dimensions, and no metrics.

        Use it for a blob with its own dimensions, without touching this logger's
        state; as a context manager it flushes on exit.

        Example:
            >>> metrics = Metrics(namespace="Shop", service="orders")
            >>> with metrics.new() as single:  # doctest: +SKIP
            ...     single.put_dimensions({"customer_tier": "gold"})
            ...     single.put_metric("Refunds", 1, "Count")
        """
        child = Metrics.__new__(Metrics)
        # The name cache holds immutable tuples only, so sharing it is thread-safe.
        caches = (self._known, self._name_json, self._value_json)
        child._configure(self._namespace, self._service, self._function_name, self._defaults, caches)
        return child

    def __enter__(self) -> Metrics:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()

    def set_namespace(self, namespace: str) -> Metrics:
        """Set the namespace of this logger's blobs (kept across flushes).

        Raises:
            InvalidNamespaceError: 1-256 characters of ``a-zA-Z0-9._#:/-``, not ``AWS/...``.
        """
        _check_namespace(namespace)
        with self._lock:
            self._namespace = namespace
            self._namespace_json = _json_str(namespace)
        return self

    # -- metrics -------------------------------------------------------------------

    def put_metric(self, key: str, value: float, unit: str = "None", storage_resolution: int = 60) -> Metrics:
        """Add one value of metric ``key``; repeated calls add values to the same metric.

        Args:
            key: The metric name (1-255 printable characters).
            value: A finite number within +-2^360 (ints, floats, Decimals; not bools).
            unit: One of CloudWatch's StandardUnit names (:class:`Unit`).
            storage_resolution: 60 (standard) or 1 (high resolution, 1-second).

        Returns:
            This logger, so calls can be chained.

        Raises:
            InvalidMetricNameError: A bad name, or one already used by a dimension or property.
            InvalidMetricValueError: NaN, an infinity, a bool or a value out of range.
            InvalidUnitError: Not a StandardUnit, or not the unit this metric already has.
            InvalidStorageResolutionError: Not 1 or 60, or not the resolution it already has.

        Example:
            >>> Metrics(namespace="Shop").put_metric("Latency", 12.5, Unit.MILLISECONDS)
            Metrics(namespace='Shop', service=None)
        """
        kind: object = value.__class__
        if kind is float:
            if not -_MAX_VALUE <= value <= _MAX_VALUE:  # false for NaN and infinities
                value = _coerce_value(key, value)
        elif kind is not int or not -_EXACT_INT <= value <= _EXACT_INT:
            value = _coerce_value(key, value)
        try:
            known = self._known.get(key)
        except TypeError:  # an unhashable name: _learn raises InvalidMetricNameError
            known = None
        if known is None or (known[0] is not unit and known[0] != unit) or known[1] != storage_resolution:
            known = self._learn(key, unit, storage_resolution)
        with self._lock:
            entry = self._metrics.get(key)
            if entry is None:
                if key in self._taken:
                    raise self._taken_error(key)
                self._metrics[key] = [known, value]
            else:
                if entry[0] is not known:
                    self._check_same(key, entry[0], known)
                entry.append(value)
        return self

    def _learn(self, key: str, unit: object, storage_resolution: object) -> Known:
        """Validate a (name, unit, resolution) seen for the first time and cache its fragments."""
        name = _check_metric_name(key)
        checked_unit = _check_unit(name, unit)
        resolution = _check_resolution(name, storage_resolution)
        encoded = _json_str(name)
        definition = '{"Name":' + encoded + ',"Unit":"' + checked_unit + '"'
        definition += ',"StorageResolution":1}' if resolution == 1 else "}"
        known: Known = (unit, storage_resolution, checked_unit, resolution, definition, "," + encoded + ":")
        if len(self._known) >= _KNOWN_NAMES_LIMIT:
            self._known.clear()  # unbounded metric names would otherwise grow memory forever
        self._known[name] = known
        return known

    @staticmethod
    def _check_same(key: str, recorded: Known, known: Known) -> None:
        if recorded[2] != known[2]:
            raise _error(
                "InvalidUnitError",
                f"Metric {key!r} already has unit {recorded[2]!r} in this blob; got {known[2]!r}. "
                "A metric has one unit per blob: flush first or use another name.",
                metric=key,
                unit=known[2],
            )
        if recorded[3] != known[3]:
            raise _error(
                "InvalidStorageResolutionError",
                f"Metric {key!r} already has storage resolution {recorded[3]} in this blob; got {known[3]}. "
                "EMF forbids both resolutions for one metric name in one blob.",
                metric=key,
                storage_resolution=known[3],
            )

    def _taken_error(self, key: str) -> LambdaKitError:
        what = "property" if key in self._properties else "dimension"
        if key == "_aws":  # pragma: no cover - _check_metric_name rejects it first
            what = "EMF metadata"
        return _error(
            "InvalidMetricNameError",
            f"Metric name {key!r} is already used by a {what} of this blob; EMF keeps metrics, "
            "dimensions and properties in one JSON object, so their names must differ.",
            metric=key,
        )

    # -- dimensions ----------------------------------------------------------------

    def put_dimensions(self, dimensions: Mapping[str, str]) -> Metrics:
        """Add a dimension set; a set with the same names replaces the earlier one.

        The default dimensions are added to it unless :meth:`set_dimensions` or
        :meth:`reset_dimensions` turned them off. Cleared by :meth:`flush`.

        Raises:
            InvalidDimensionError: A name or value is not non-blank printable ASCII
                (names <= 250 characters, not starting with ':'; values <= 1024), a
                name is already used by a metric or property, or another dimension set
                of this blob gives the same name a different value (a line holds one
                value per name: use :meth:`new` or flush first).
            DimensionSetExceededError: More than 30 dimensions with the defaults.

        Example:
            >>> Metrics(namespace="Shop").put_dimensions({"operation": "checkout"})
            Metrics(namespace='Shop', service=None)
        """
        with self._lock:
            checked = self._checked_set(dimensions, self._use_default)
            keys = checked.keys()
            custom = [previous for previous in self._custom or () if previous.keys() != keys]
            custom.append(checked)
            self._set_dimensions(custom, self._use_default)
        return self

    def set_dimensions(self, *dimension_sets: Mapping[str, str], use_default: bool = False) -> Metrics:
        """Replace every custom dimension set; the defaults are left out unless ``use_default``.

        Raises:
            InvalidDimensionError: As for :meth:`put_dimensions`.
            DimensionSetExceededError: As for :meth:`put_dimensions`.

        Example:
            >>> Metrics(namespace="Shop").set_dimensions({"operation": "checkout"}, {"region": "eu"})
            Metrics(namespace='Shop', service=None)
        """
        with self._lock:
            custom = [self._checked_set(dimensions, use_default) for dimensions in dimension_sets]
            self._set_dimensions(custom, use_default)
        return self

    def reset_dimensions(self, use_default: bool = True) -> Metrics:
        """Drop every custom dimension set; keep the defaults unless ``use_default`` is false."""
        with self._lock:
            self._set_dimensions([], use_default)
        return self

    def add_dimension(self, name: str, value: str) -> Metrics:
        """Add one dimension to the latest custom dimension set (Powertools' ``add_dimension``).

        Raises:
            InvalidDimensionError: As for :meth:`put_dimensions`.
            DimensionSetExceededError: As for :meth:`put_dimensions`.
        """
        with self._lock:
            custom = list(self._custom or ())
            latest = custom.pop() if custom else {}
            custom.append(self._checked_set({**latest, name: value}, self._use_default))
            self._set_dimensions(custom, self._use_default)
        return self

    def _checked_set(self, dimensions: Mapping[str, str], use_default: bool) -> dict[str, str]:
        """A validated copy of one dimension set; the defaults count towards the limit of 30."""
        names = self._name_json
        values = self._value_json
        try:
            checked = dict(dimensions.items())
            for name, value in checked.items():
                if name not in names or value not in values:
                    _check_dimension(name, value)
                    if len(names) >= _KNOWN_NAMES_LIMIT or len(values) >= _KNOWN_NAMES_LIMIT:
                        names.clear()  # high-cardinality values must not grow memory forever
                        values.clear()
                    names[name] = _json_str(name)
                    values[value] = _json_str(value)
        except (TypeError, AttributeError):  # not a mapping, or an unhashable name or value
            checked = _check_dimension_set(dimensions)  # raises the precise error
        size = len(checked)
        if use_default and self._defaults:
            size += len(self._defaults)
            if size > _MAX_DIMENSIONS_PER_SET:
                size = len({**self._defaults, **checked})
        if size > _MAX_DIMENSIONS_PER_SET:
            counted = " (default dimensions included)" if use_default and self._defaults else ""
            raise _error(
                "DimensionSetExceededError",
                f"A dimension set has {size} dimensions{counted}; EMF allows at most "
                f"{_MAX_DIMENSIONS_PER_SET}. Use set_dimensions(..., use_default=False) to leave the "
                "defaults out.",
                size=size,
            )
        return checked

    def _dimension_fragments(self, sets: list[dict[str, str]]) -> tuple[str, str]:
        """(the ``Dimensions`` array, the root members holding the values) for ``sets``."""
        if not sets:
            return "[[]]", ""  # one empty set: metrics without dimensions (an empty array is invalid)
        names = self._name_json
        values = self._value_json
        merged: dict[str, str] = {}
        keys: list[str] = []
        for dimensions in sets:
            merged.update(dimensions)
            keys.append(",".join([names.get(name) or _json_str(name) for name in dimensions]))
        members = "".join(
            [
                "," + (names.get(name) or _json_str(name)) + ":" + (values.get(value) or _json_str(value))
                for name, value in merged.items()
            ]
        )
        return "[[" + "],[".join(keys) + "]]", members

    def _set_dimensions(self, custom: list[dict[str, str]], use_default: bool) -> None:
        """Install new dimension sets (lock held) after checking their names are free."""
        sets = _effective_sets(self._defaults, custom, use_default)
        if len(sets) > 1:
            _check_one_value_per_name(sets)
        names = {name for dimensions in sets for name in dimensions}
        if self._metrics or self._properties:
            for name in names:
                if name in self._metrics or name in self._properties:
                    raise _error(
                        "InvalidDimensionError",
                        f"Dimension name {name!r} is already used by a metric or property of this blob; "
                        "their names must differ.",
                        dimension=name,
                    )
        self._custom = custom
        self._use_default = use_default
        self._sets = None if not custom and use_default else sets
        self._taken = frozenset(("_aws", *names, *self._properties))

    # -- properties and timestamp ----------------------------------------------------

    def set_property(self, key: str, value: Any) -> Metrics:
        """Add a JSON member that is logged with the blob but is not a metric (a request id, say).

        The value is encoded when set (later changes to a mutable value are not seen).
        Cleared by :meth:`flush`.

        Raises:
            InvalidPropertyError: The key is empty, ``_aws``, or used by a metric or
                dimension; the value is not JSON (NaN included); or the blob's properties
                would exceed 256 KiB.

        Example:
            >>> Metrics(namespace="Shop").set_property("request_id", "c6af9ac6")
            Metrics(namespace='Shop', service=None)
        """
        import json

        if not isinstance(key, str) or not key.strip() or key == "_aws":
            raise _error(
                "InvalidPropertyError",
                f"Invalid property key {key!r}; expected a non-blank str other than '_aws'.",
                key=key,
            )
        try:
            encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:  # RecursionError: nested too deeply
            raise _error(
                "InvalidPropertyError",
                f"Property {key!r} is not JSON-serializable ({error}); expected str, int, finite float, "
                "bool, None, or lists and dicts of them (not nested too deeply).",
                key=key,
            ) from None
        member = "," + _json_str(key) + ":" + encoded
        with self._lock:
            if key in self._metrics or (key in self._taken and key not in self._properties):
                raise _error(
                    "InvalidPropertyError",
                    f"Property key {key!r} is already used by a metric or dimension of this blob.",
                    key=key,
                )
            size = self._properties_size - len(self._properties.get(key, "")) + len(member)
            if size > _MAX_PROPERTIES:
                raise _error(
                    "InvalidPropertyError",
                    f"Property {key!r} would bring this blob's properties to {size} bytes; the limit is "
                    f"{_MAX_PROPERTIES} so that every EMF line stays under CloudWatch's 1 MB.",
                    key=key,
                )
            self._properties[key] = member
            self._properties_size = size
            self._taken = self._taken | {key}
        return self

    def add_metadata(self, key: str, value: Any) -> Metrics:
        """:meth:`set_property` under Powertools' name."""
        return self.set_property(key, value)

    def add_metric(self, name: str, unit: str, value: float, resolution: int = 60) -> Metrics:
        """:meth:`put_metric` with Powertools' argument order."""
        return self.put_metric(name, value, unit, resolution)

    def set_timestamp(self, timestamp: Any) -> Metrics:
        """Set the timestamp of the next blob: a ``datetime`` or epoch milliseconds.

        Without it a blob carries the time of its flush. Cleared by :meth:`flush`.

        Raises:
            InvalidTimestampError: Earlier than 14 days ago or later than 2 hours ahead.

        Example:
            >>> import time
            >>> Metrics(namespace="Shop").set_timestamp(int(time.time() * 1000))
            Metrics(namespace='Shop', service=None)
        """
        epoch_ms = _to_epoch_ms(timestamp)
        with self._lock:
            self._timestamp = epoch_ms
        return self

    # -- output ----------------------------------------------------------------------

    def flush(self) -> None:
        """Write the metrics added so far as EMF lines, then start a fresh blob.

        One ``write`` per line, to the current ``sys.stdout``, then one ``flush`` of
        it; the lines of one flush are written under a lock shared by every logger, so
        threads flushing at once never mix their lines. Custom dimensions, properties
        and the timestamp are cleared too; namespace and default dimensions stay. With
        no metrics, nothing is written.

        Raises:
            MetricsError: One metric cannot fit in a 1 MB line beside its dimensions
                and properties (nothing is written).
            Exception: Whatever writing to ``sys.stdout`` raises (``OSError`` for a
                broken pipe, ``ValueError`` for a closed stream or a ``sys.stdout``
                of ``None``, ``UnicodeEncodeError``...); the lines of this flush are
                dropped. Under :meth:`log_metrics` this becomes a warning instead.
        """
        with self._lock:
            metrics = self._metrics
            if not metrics:
                if self._sets is not None or self._properties or self._timestamp is not None:
                    self._reset_context()
                return
            self._metrics = {}
            sets = self._sets
            properties = self._properties
            timestamp = self._timestamp
            namespace = self._namespace_json
            if sets is not None or properties or timestamp is not None:
                self._reset_context()
        keys, members = self._default_fragments if sets is None else self._dimension_fragments(sets)
        if properties:
            members += "".join(properties.values())
        prefix = (
            '{"_aws":{"Timestamp":'
            + str(int(time.time() * 1000) if timestamp is None else timestamp)
            + ',"CloudWatchMetrics":[{"Namespace":'
            + namespace
            + ',"Dimensions":'
            + keys
            + ',"Metrics":['
        )
        if len(metrics) <= _MAX_METRICS_PER_BLOB:
            definitions = []
            values = []
            for entry in metrics.values():
                known = entry[0]
                definitions.append(known[4])
                if len(entry) == 2:
                    values.append(known[5] + repr(entry[1]))
                elif len(entry) <= _MAX_VALUES_PER_METRIC + 1:
                    values.append(known[5] + "[" + ",".join(map(repr, entry[1:])) + "]")
                else:
                    break
            else:
                blob = prefix + ",".join(definitions) + "]}]}" + members + "".join(values) + "}\n"
                if len(blob) <= _MAX_EVENT:
                    _write((blob,))
                    return
        _write(_split(metrics.values(), prefix, members))

    # -- handler decorator ---------------------------------------------------------

    if TYPE_CHECKING:

        @overload
        def log_metrics(
            self, handler: Callable[P, R], *, capture_cold_start_metric: bool = False
        ) -> Callable[P, R]: ...

        @overload
        def log_metrics(
            self, handler: None = None, *, capture_cold_start_metric: bool = False
        ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def log_metrics(
        self, handler: Callable[P, R] | None = None, *, capture_cold_start_metric: bool = False
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a Lambda handler: flush after every invocation, also when it raises.

        Marks the invocation for :mod:`lambda_kit.lifecycle` (cold start, remaining
        time). Works bare or called, on sync and async handlers.

        Args:
            handler: The handler (when used bare).
            capture_cold_start_metric: Also write a ``ColdStart`` metric (Count 1) in
                its own blob for the first invocation of the environment, with a
                ``function_name`` dimension and the default dimensions. It is written
                when the invocation starts, so a failing or timed-out first invocation
                is still counted.

        Raises:
            DimensionSetExceededError: ``capture_cold_start_metric`` with 30 default
                dimensions, none named ``function_name`` (the ColdStart set would
                hold 31); raised when decorating, at INIT.

        Metrics never keep the handler from running nor replace its result or
        exception: when the ColdStart blob or the final flush fails, whether a
        ``MetricsError`` (a metric too large for a line) or a failed write (a closed or
        broken stdout, an encoding error, a replaced ``sys.stdout`` that raises: any
        ``Exception``), it is logged as one warning on the ``lambda_kit.metrics``
        logger and those metrics are dropped. ``KeyboardInterrupt`` and ``SystemExit``
        still propagate.

        Example:
            >>> metrics = Metrics(namespace="Shop", service="orders")
            >>> @metrics.log_metrics(capture_cold_start_metric=True)
            ... def handler(event: dict, context: object) -> str:
            ...     metrics.put_metric("Orders", 1, "Count")
            ...     return "ok"
        """
        if (
            capture_cold_start_metric
            and "function_name" not in self._defaults
            and len(self._defaults) >= _MAX_DIMENSIONS_PER_SET
        ):
            raise _error(
                "DimensionSetExceededError",
                f"capture_cold_start_metric=True adds a function_name dimension to the "
                f"{len(self._defaults)} default dimensions, and EMF allows at most "
                f"{_MAX_DIMENSIONS_PER_SET} per set; use at most {_MAX_DIMENSIONS_PER_SET - 1} "
                "default dimensions (or one named function_name) with the ColdStart metric.",
                size=len(self._defaults) + 1,
            )
        if handler is None:

            def decorate(function: Callable[P, R]) -> Callable[P, R]:
                return self.log_metrics(function, capture_cold_start_metric=capture_cold_start_metric)

            return decorate
        from lambda_kit import lifecycle

        def on_start(context: object) -> None:
            if capture_cold_start_metric and lifecycle.is_cold_start():
                try:
                    self._record_cold_start(context)
                except Exception as error:  # invalid or unwritable: the handler runs anyway
                    _warn_not_written("the ColdStart metric", error)

        def on_finish() -> None:
            try:
                self.flush()
            except Exception as error:  # invalid or unwritable: never replaces the outcome
                _warn_not_written("this invocation's metrics", error)

        return lifecycle.wrap_invocation(handler, on_start=on_start, on_finish=on_finish)

    def _record_cold_start(self, context: object) -> None:
        """Write the ``ColdStart`` blob once per cold invocation (request id remembered)."""
        from lambda_kit.lifecycle import current_request_id

        request_id = current_request_id()
        with self._lock:
            if request_id == self._cold_request_id:
                return  # the same invocation decorated twice with this logger
            self._cold_request_id = request_id
        function_name = self._function_name
        if function_name is None:
            from_context = getattr(context, "function_name", None)
            function_name = from_context if isinstance(from_context, str) and from_context else None
        if function_name is None:
            function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or None
        single = self.new()
        if function_name is not None:
            single.set_dimensions({"function_name": function_name, **self._defaults})
        single.put_metric("ColdStart", 1, "Count")
        single.flush()
