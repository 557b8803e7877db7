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
which makes a warm ``put_metric`` cost a fraction of a microsecond. What does not
change from one invocation to the next (the checked first dimension set of a blob, the
line between its timestamp and its values) is cached too, bounded, so a handler that
writes the same shape of line each time only formats its values.

State lives on the instance and is guarded by a lock: several threads (Lambda Managed
Instances run invocations concurrently in one process) can add metrics at once; a
flush takes everything added so far exactly once. Lines are written under one lock
shared by every logger, so concurrent flushes never mix their lines. For metrics with
their own dimensions, use :meth:`Metrics.new`, an independent logger that shares the
configuration.

The method names are those of aws-embedded-metrics' ``MetricsLogger``, so moving
from it is mostly a changed import; ``add_metric`` / ``add_dimension`` /
``add_metadata`` cover code written for Powertools for AWS Lambda.

This module is the collector: state, configuration, the decorator. The format of
the line itself (units, limits, checks, assembly, the locked write) is
:mod:`lambda_kit._emf`, whose ``Unit``, ``StorageResolution`` and ``STANDARD_UNITS``
are re-exported here.

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

import json
import logging
import os
import sys
import threading

from lambda_kit._emf import (
    EXACT_INT,
    MAX_DIMENSIONS_PER_SET,
    MAX_PROPERTIES,
    MAX_VALUE,
    STANDARD_UNITS,
    MetricDefinition,
    StorageResolution,
    Unit,
    check_dimension,
    check_dimension_set,
    check_namespace,
    check_one_value_per_name,
    coerce_value,
    dimension_fragments,
    effective_sets,
    emit,
    epoch_ms,
    json_str,
)

TYPE_CHECKING = False  # typing is not preloaded by the Python runtime; annotations need none of it
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, ParamSpec, TypeVar, overload

    from lambda_kit.exceptions import InvalidMetricNameError

    P = ParamSpec("P")
    R = TypeVar("R")
    # What put_dimensions leaves after a blob's first set: custom sets, sets, taken names, fragments.
    _Shape = tuple[list[dict[str, str]], list[dict[str, str]], frozenset[str], tuple[str, str]]

__all__ = ["DEFAULT_NAMESPACE", "STANDARD_UNITS", "Metrics", "StorageResolution", "Unit"]

DEFAULT_NAMESPACE = "lambda-kit"
"""The namespace used when neither an argument nor an environment variable names one."""

_KNOWN_NAMES_LIMIT = 4096  # the per-instance caches of checked names and values stay bounded
_SHAPES_LIMIT = 256  # and the cache of first dimension sets


def _warn_not_written(what: str, error: BaseException) -> None:
    """Log that ``what`` could not be written.

    The warning itself must not fail the invocation either: with stdout and stderr
    both gone, a logging handler may raise too, and then nothing more can be said.
    """
    try:
        logging.getLogger(__name__).warning(
            "lambda_kit.metrics: %s could not be written and was dropped: %s: %s",
            what,
            type(error).__name__,
            error,
        )
    except Exception:  # noqa: S110 - nowhere left to report to; the handler's outcome wins
        pass


def _nested_too_deeply(value: Any) -> bool:
    """Whether ``value`` nests lists and dicts deeper than the interpreter's recursion limit.

    The limit the property values had on Python 3.11, where ``json.dumps`` counted its
    levels against ``sys.getrecursionlimit()``; from 3.12 its C encoder counts against
    the C stack's own, much higher, limit and writes such a value.
    """
    limit = sys.getrecursionlimit()
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > limit:
                return True
            pending.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False


# -- configuration ------------------------------------------------------------------------


def _from_environment(
    setting: str, argument: str, peers: tuple[str, ...], check: Callable[[str], object]
) -> str | None:
    """``LAMBDA_KIT_<SETTING>``, then the peers' variables (migration), then None.

    Each source is read only when every source before it is unset or blank, so an
    invalid lower-priority variable (left over from a migration, say) never breaks a
    valid configuration; the variable actually used is validated and named on error.
    """
    environ = os.environ
    if not any(environ.get(name, "").strip() for name in ("LAMBDA_KIT_" + setting.upper(), *peers)):
        # The usual case returns before importing _config and the error tree: together
        # they cost more at INIT than importing this module.
        return None
    from lambda_kit._config import UNSET, resolve
    from lambda_kit.exceptions import MetricsError

    def parse(raw: str) -> str | None:
        value = raw.strip()
        try:
            check(value)
        except MetricsError as error:
            raise ValueError(str(error)) from None
        return value

    return resolve(setting, UNSET, None, parse, argument=argument, valid="a valid value", fallbacks=peers)


def _check_service(service: str) -> None:
    check_dimension("service", service)


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
        "_dimension_shapes",
        "_fragments",
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
                    "namespace",
                    ("AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"),
                    check_namespace,
                )
                or DEFAULT_NAMESPACE
            )
        if service is None:
            service = _from_environment(
                "service_name", "service", ("AWS_EMF_SERVICE_NAME", "POWERTOOLS_SERVICE_NAME"), _check_service
            )
        else:
            _check_service(service)
        if function_name is None:
            function_name = _from_environment(
                "metrics_function_name",
                "function_name",
                ("POWERTOOLS_METRICS_FUNCTION_NAME",),
                self._check_function_name,
            )
        else:
            self._check_function_name(function_name)
        if dimensions is None:
            defaults = {"service": service} if service else {}
        else:
            defaults = check_dimension_set(dimensions)
            if len(defaults) > MAX_DIMENSIONS_PER_SET:
                from lambda_kit.exceptions import DimensionSetExceededError

                raise DimensionSetExceededError(
                    f"{len(defaults)} default dimensions; EMF allows at most {MAX_DIMENSIONS_PER_SET}.",
                    size=len(defaults),
                )
        self._configure(check_namespace(namespace), service, function_name, defaults, ({}, {}, {}, {}))

    @staticmethod
    def _check_function_name(value: str) -> None:
        check_dimension("function_name", value)

    def _configure(
        self,
        namespace: str,
        service: str | None,
        function_name: str | None,
        defaults: dict[str, str],
        caches: tuple[
            dict[str, MetricDefinition], dict[str, str], dict[str, str], dict[tuple[Any, ...], _Shape]
        ],
    ) -> None:
        # Validated names and values with their JSON fragments, and the state a first
        # dimension set leaves (see put_dimensions); immutable entries, so the caches are
        # thread-safe and shared with the loggers that new() makes (same defaults).
        self._known, self._name_json, self._value_json, self._dimension_shapes = caches
        self._namespace = namespace
        self._namespace_json = json_str(namespace)
        self._service = service
        self._function_name = function_name
        self._defaults = defaults
        self._default_fragments = dimension_fragments(
            effective_sets(defaults, None, True), self._name_json, self._value_json
        )
        self._default_taken = frozenset(("_aws", *defaults))
        self._lock = threading.Lock()
        self._metrics: dict[str, list[Any]] = {}  # name -> [MetricDefinition, value, value, ...]
        self._cold_request_id: str | None = None
        self._reset_context()

    def _reset_context(self) -> None:
        """Forget custom dimensions, properties and the timestamp (after each flush)."""
        self._custom: list[dict[str, str]] | None = None
        self._use_default = True
        self._sets: list[dict[str, str]] | None = None  # None: the defaults, fragments cached
        self._fragments: tuple[str, str] | None = None  # those of _sets, when known
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
        # The caches hold immutable entries only (MetricDefinition, str), so sharing them is thread-safe.
        caches = (self._known, self._name_json, self._value_json, self._dimension_shapes)
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
        check_namespace(namespace)
        with self._lock:
            self._namespace = namespace
            self._namespace_json = json_str(namespace)
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
            if not -MAX_VALUE <= value <= MAX_VALUE:  # false for NaN and infinities
                value = coerce_value(key, value)
        elif kind is not int or not -EXACT_INT <= value <= EXACT_INT:
            value = coerce_value(key, value)
        try:
            known = self._known[key]
        except (KeyError, TypeError):  # new, or an unhashable name (_learn raises InvalidMetricNameError)
            known = None
        if (
            known is None
            or (known.given_unit is not unit and known.given_unit != unit)
            or (
                known.given_resolution is not storage_resolution
                and known.given_resolution != storage_resolution
            )
        ):
            known = self._learn(key, unit, storage_resolution)
        # acquire/release rather than `with`: this is the hot path, and `with` costs more.
        lock = self._lock
        lock.acquire()
        try:
            metrics = self._metrics
            entry = metrics.get(key)
            if entry is None:
                if key in self._taken:
                    raise self._taken_error(key)
                metrics[key] = [known, value]
            else:
                if entry[0] is not known:
                    self._check_same(key, entry[0], known)
                entry.append(value)
        finally:
            lock.release()
        return self

    def _learn(self, key: str, unit: object, storage_resolution: object) -> MetricDefinition:
        """Check a (name, unit, resolution) seen for the first time and cache its definition."""
        known = MetricDefinition(key, unit, storage_resolution)
        if len(self._known) >= _KNOWN_NAMES_LIMIT:
            self._known.clear()  # unbounded metric names would otherwise grow memory forever
        self._known[key] = known
        return known

    @staticmethod
    def _check_same(key: str, recorded: MetricDefinition, known: MetricDefinition) -> None:
        if recorded.unit != known.unit:
            from lambda_kit.exceptions import InvalidUnitError

            raise InvalidUnitError(
                f"Metric {key!r} already has unit {recorded.unit!r} in this blob; got {known.unit!r}. "
                "A metric has one unit per blob: flush first or use another name.",
                metric=key,
                unit=known.unit,
            )
        if recorded.resolution != known.resolution:
            from lambda_kit.exceptions import InvalidStorageResolutionError

            raise InvalidStorageResolutionError(
                f"Metric {key!r} already has storage resolution {recorded.resolution} in this blob; "
                f"got {known.resolution}. EMF forbids both resolutions for one metric name in one blob.",
                metric=key,
                storage_resolution=known.resolution,
            )

    def _taken_error(self, key: str) -> InvalidMetricNameError:
        from lambda_kit.exceptions import InvalidMetricNameError

        what = "property" if key in self._properties else "dimension"
        if key == "_aws":  # pragma: no cover - the metric name check rejects it first
            what = "EMF metadata"
        return InvalidMetricNameError(
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
        try:
            shape_key: tuple[Any, ...] | None = tuple(dimensions.items())
            shape = self._dimension_shapes.get(shape_key)  # type: ignore[arg-type]
        except (TypeError, AttributeError):  # not a mapping, or unhashable: the checks say which
            shape_key = shape = None
        lock = self._lock
        lock.acquire()  # not `with`: this runs once per invocation, and `with` costs more
        try:
            first = self._custom is None and self._use_default and not self._properties
            if first and shape is not None and (not self._metrics or shape[2].isdisjoint(self._metrics)):
                # The first set of a blob, seen before: the same checks passed then, and
                # what they left is reused (the handler's usual call, once per invocation).
                self._custom, self._sets, self._taken, self._fragments = shape
                return self
            checked = self._checked_set(dimensions, self._use_default)
            keys = checked.keys()
            custom = [previous for previous in self._custom or () if previous.keys() != keys]
            custom.append(checked)
            self._set_dimensions(custom, self._use_default)
            if first and shape_key is not None and self._sets is not None:
                if len(self._dimension_shapes) >= _SHAPES_LIMIT:
                    self._dimension_shapes.clear()  # dimension values that vary without bound
                self._fragments = dimension_fragments(self._sets, self._name_json, self._value_json)
                self._dimension_shapes[shape_key] = (custom, self._sets, self._taken, self._fragments)
        finally:
            lock.release()
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
                    check_dimension(name, value)
                    if len(names) >= _KNOWN_NAMES_LIMIT or len(values) >= _KNOWN_NAMES_LIMIT:
                        names.clear()  # high-cardinality values must not grow memory forever
                        values.clear()
                    names[name] = json_str(name)
                    values[value] = json_str(value)
        except (TypeError, AttributeError):  # not a mapping, or an unhashable name or value
            checked = check_dimension_set(dimensions)  # raises the precise error
        size = len(checked)
        if use_default and self._defaults:
            size += len(self._defaults)
            if size > MAX_DIMENSIONS_PER_SET:
                size = len({**self._defaults, **checked})
        if size > MAX_DIMENSIONS_PER_SET:
            counted = " (default dimensions included)" if use_default and self._defaults else ""
            from lambda_kit.exceptions import DimensionSetExceededError

            raise DimensionSetExceededError(
                f"A dimension set has {size} dimensions{counted}; EMF allows at most "
                f"{MAX_DIMENSIONS_PER_SET}. Use set_dimensions(..., use_default=False) to leave the "
                "defaults out.",
                size=size,
            )
        return checked

    def _set_dimensions(self, custom: list[dict[str, str]], use_default: bool) -> None:
        """Install new dimension sets (lock held) after checking their names are free."""
        sets = effective_sets(self._defaults, custom, use_default)
        if len(sets) > 1:
            check_one_value_per_name(sets)
        names = {name for dimensions in sets for name in dimensions}
        if self._metrics or self._properties:
            for name in names:
                if name in self._metrics or name in self._properties:
                    from lambda_kit.exceptions import InvalidDimensionError

                    raise InvalidDimensionError(
                        f"Dimension name {name!r} is already used by a metric or property of this blob; "
                        "their names must differ.",
                        dimension=name,
                    )
        self._custom = custom
        self._use_default = use_default
        self._sets = None if not custom and use_default else sets
        self._fragments = None
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
        if not isinstance(key, str) or not key.strip() or key == "_aws":
            from lambda_kit.exceptions import InvalidPropertyError

            raise InvalidPropertyError(
                f"Invalid property key {key!r}; expected a non-blank str other than '_aws'.",
                key=key,
            )
        try:
            encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
            # Each level of nesting writes two brackets: a short value cannot be too deep (the
            # first test spares the usual short property the call; no limit is below 100).
            size = len(encoded)
            if size > 200 and size > 2 * sys.getrecursionlimit() and _nested_too_deeply(value):
                raise RecursionError(f"nested deeper than {sys.getrecursionlimit()} levels")
        except (TypeError, ValueError, RecursionError) as error:  # RecursionError: nested too deeply
            from lambda_kit.exceptions import InvalidPropertyError

            raise InvalidPropertyError(
                f"Property {key!r} is not JSON-serializable ({error}); expected str, int, finite float, "
                "bool, None, or lists and dicts of them (not nested too deeply).",
                key=key,
            ) from None
        member = "," + json_str(key) + ":" + encoded
        with self._lock:
            if key in self._metrics or (key in self._taken and key not in self._properties):
                from lambda_kit.exceptions import InvalidPropertyError

                raise InvalidPropertyError(
                    f"Property key {key!r} is already used by a metric or dimension of this blob.",
                    key=key,
                )
            size = self._properties_size - len(self._properties.get(key, "")) + len(member)
            if size > MAX_PROPERTIES:
                from lambda_kit.exceptions import InvalidPropertyError

                raise InvalidPropertyError(
                    f"Property {key!r} would bring this blob's properties to {size} bytes; the limit is "
                    f"{MAX_PROPERTIES} so that every EMF line stays under CloudWatch's 1 MB.",
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
        checked = epoch_ms(timestamp)
        with self._lock:
            self._timestamp = checked
        return self

    # -- output ----------------------------------------------------------------------

    def flush(self) -> None:
        """Write the metrics added so far as EMF lines, then start a fresh blob.

        One ``write`` per line, to the current ``sys.stdout``, then one ``flush`` of
        it (none more on Lambda, whose runtime client flushes every write); the lines
        of one flush are written under a lock shared by every logger, so threads
        flushing at once never mix their lines. Custom dimensions, properties and the
        timestamp are cleared too; namespace and default dimensions stay. With
        no metrics, nothing is written.

        Raises:
            MetricsError: One metric cannot fit in a 1 MB line beside its dimensions
                and properties (nothing is written).
            Exception: Whatever writing to ``sys.stdout`` raises (``OSError`` for a
                broken pipe, ``ValueError`` for a closed stream or a ``sys.stdout``
                of ``None``, ``UnicodeEncodeError``...); the lines of this flush are
                dropped. Under :meth:`log_metrics` this becomes a warning instead.
        """
        lock = self._lock
        lock.acquire()  # not `with`: this runs once per invocation, and `with` costs more
        try:
            metrics = self._metrics
            if not metrics:
                if self._sets is not None or self._properties or self._timestamp is not None:
                    self._reset_context()
                return
            self._metrics = {}
            sets = self._sets
            fragments = self._fragments
            properties = self._properties
            timestamp = self._timestamp
            namespace = self._namespace_json
            if sets is not None or properties or timestamp is not None:
                self._reset_context()
        finally:
            lock.release()
        if sets is None:
            keys, members = self._default_fragments
        elif fragments is not None:
            keys, members = fragments
        else:
            keys, members = dimension_fragments(sets, self._name_json, self._value_json)
        emit(
            metrics.values(),
            timestamp,
            namespace,
            keys,
            members,
            "".join(properties.values()) if properties else "",
        )

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
            and len(self._defaults) >= MAX_DIMENSIONS_PER_SET
        ):
            from lambda_kit.exceptions import DimensionSetExceededError

            raise DimensionSetExceededError(
                f"capture_cold_start_metric=True adds a function_name dimension to the "
                f"{len(self._defaults)} default dimensions, and EMF allows at most "
                f"{MAX_DIMENSIONS_PER_SET} per set; use at most {MAX_DIMENSIONS_PER_SET - 1} "
                "default dimensions (or one named function_name) with the ColdStart metric.",
                size=len(self._defaults) + 1,
            )
        if handler is None:

            def decorate(function: Callable[P, R]) -> Callable[P, R]:
                return self.log_metrics(function, capture_cold_start_metric=capture_cold_start_metric)

            return decorate
        from lambda_kit import lifecycle

        def on_start(context: object) -> None:
            if lifecycle.is_cold_start():
                try:
                    self._record_cold_start(context)
                except Exception as error:  # invalid or unwritable: the handler runs anyway
                    _warn_not_written("the ColdStart metric", error)

        def on_finish() -> None:
            try:
                self.flush()
            except Exception as error:  # invalid or unwritable: never replaces the outcome
                _warn_not_written("this invocation's metrics", error)

        # Without the ColdStart metric there is nothing to do when an invocation starts.
        started = on_start if capture_cold_start_metric else None
        return lifecycle.wrap_invocation(handler, on_start=started, on_finish=on_finish)

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
