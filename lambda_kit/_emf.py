"""The Embedded Metric Format (EMF) on the wire: its vocabulary, its limits, its checks, its lines.

CloudWatch Logs turns a log line into metrics when the line is one JSON object of
this shape (compact, no spaces, one ``\\n`` at the end)::

    {"_aws":{"Timestamp":<epoch ms>,"CloudWatchMetrics":[{"Namespace":"Shop",
      "Dimensions":[["service","operation"]],
      "Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},
     "service":"orders","operation":"checkout","Latency":[12.5,8.0]}

The definitions in ``_aws`` name the metrics and dimensions; their values are members
of the root object, beside any properties. CloudWatch drops a line that breaks a rule
without a word, so everything here is strict: each ``check_*`` raises a precise
:class:`~lambda_kit.exceptions.MetricsError` subclass, imported where it is raised
(valid input never loads the exception tree), and :func:`emit` writes nothing it has
not checked. :func:`emit` also splits what does not fit in one line: at most 100
metrics per line, 100 values per metric and 1 MB per line, so nothing is ever dropped.

This module holds no per-logger state. :mod:`lambda_kit.metrics` collects the metrics
of an invocation and calls :func:`emit`; :mod:`lambda_kit.testing` diverts the lines
through :func:`add_sink`.

Example:
    >>> definition = MetricDefinition("Latency", "Milliseconds", 60)
    >>> definition.definition_json
    '{"Name":"Latency","Unit":"Milliseconds"}'
    >>> definition.member_key + "12.5"
    ',"Latency":12.5'
"""

from __future__ import annotations

import _thread
import sys
import time
from operator import itemgetter

TYPE_CHECKING = False  # importing typing is not free; annotations need none of it at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable
    from typing import Any

    from lambda_kit.exceptions import InvalidMetricValueError


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
MAX_METRICS_PER_LINE = 100
MAX_VALUES_PER_METRIC = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_METRIC_NAME = 255
MAX_DIMENSION_NAME = 250
MAX_DIMENSION_VALUE = 1024
MAX_NAMESPACE = 256
MAX_VALUE = 2.0**360  # CloudWatch rejects values outside +-2^360
EXACT_INT = 2**53  # larger integers are written as floats, as CloudWatch stores doubles
PAST_MS = 14 * 24 * 3600 * 1000
FUTURE_MS = 2 * 3600 * 1000
MAX_LINE = 1_000_000  # CloudWatch Logs accepts events up to 1 MiB; keep a margin
MAX_PROPERTIES = 256 * 1024  # encoded properties per line, so the metrics always fit
_NAMESPACE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._#:/-"


def json_str(text: str) -> str:
    """``text`` as a JSON string literal; plain printable ASCII skips the json module."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    import json

    return json.dumps(text)


# -- checks (each raises the precise MetricsError subclass) --------------------------------


def check_namespace(namespace: object) -> str:
    """``namespace`` if CloudWatch accepts it as a namespace; else ``InvalidNamespaceError``."""
    if (
        not isinstance(namespace, str)
        or not namespace
        or len(namespace) > MAX_NAMESPACE
        or namespace.strip(_NAMESPACE_CHARS)
        or namespace.startswith("AWS/")
    ):
        from lambda_kit.exceptions import InvalidNamespaceError

        raise InvalidNamespaceError(
            f"Invalid namespace {namespace!r}; expected 1-{MAX_NAMESPACE} characters from "
            f"a-z A-Z 0-9 . _ # : / - not starting with 'AWS/'.",
            namespace=namespace,
        )
    return namespace


def _check_metric_name(name: object) -> str:
    if not isinstance(name, str):
        problem = f"must be a str, not {type(name).__name__}"
    elif not name.strip():
        problem = "must contain a non-whitespace character"
    elif len(name) > MAX_METRIC_NAME:
        problem = f"is {len(name)} characters long; the limit is {MAX_METRIC_NAME}"
    elif not name.isprintable():
        problem = "contains a control character"
    elif name == "_aws":
        problem = "is reserved for EMF metadata"
    else:
        return name
    from lambda_kit.exceptions import InvalidMetricNameError

    shown = name[:80] if isinstance(name, str) else name
    raise InvalidMetricNameError(f"Invalid metric name {shown!r}: it {problem}.", metric=name)


def _check_unit(name: str, unit: object) -> str:
    if isinstance(unit, str) and unit in STANDARD_UNITS:
        return unit
    # Enum members (aws-embedded-metrics' Unit, Powertools' MetricUnit) carry the name.
    value = getattr(unit, "value", None)
    if isinstance(value, str) and value in STANDARD_UNITS:
        return value
    if unit is None:
        return "None"
    from lambda_kit.exceptions import InvalidUnitError

    raise InvalidUnitError(
        f"Invalid unit {unit!r} for metric {name!r}; expected one of: {', '.join(sorted(STANDARD_UNITS))}.",
        metric=name,
        unit=unit,
    )


def _check_resolution(name: str, resolution: object) -> int:
    value = getattr(resolution, "value", resolution)  # accepts the peers' enums too
    if value.__class__ is int and (value == 60 or value == 1):
        return value
    from lambda_kit.exceptions import InvalidStorageResolutionError

    raise InvalidStorageResolutionError(
        f"Invalid storage resolution {resolution!r} for metric {name!r}; expected 60 (standard) or 1 (high).",
        metric=name,
        storage_resolution=resolution,
    )


def _invalid_value(name: str, value: object, why: str) -> InvalidMetricValueError:
    from lambda_kit.exceptions import InvalidMetricValueError

    return InvalidMetricValueError(
        f"Invalid value {value!r} for metric {name!r}: {why}; expected a finite number within +-2^360.",
        metric=name,
        value=value,
    )


def coerce_value(name: str, value: object) -> float | int:
    """The slow path of the value check: anything but a plain small int or finite float.

    Returns the number as EMF writes it (a plain ``int`` up to 2^53, else a ``float``);
    raises ``InvalidMetricValueError`` for bools, text, NaN, infinities and values
    beyond +-2^360. The caller keeps plain ints and finite floats off this path.
    """
    if isinstance(value, bool):
        raise _invalid_value(name, value, "a bool is not a number")
    if isinstance(value, (str, bytes, bytearray)):
        raise _invalid_value(name, value, "text is not a number")
    number: float | int
    if isinstance(value, int):
        number = int(value)  # drops subclasses (IntEnum) so the JSON is a plain number
        if -EXACT_INT <= number <= EXACT_INT:
            return number
    try:
        number = float(value)  # type: ignore[arg-type]  # Decimal, Fraction, numpy scalars, ...
    except (TypeError, ValueError, OverflowError):
        raise _invalid_value(name, value, "not a number CloudWatch can store") from None
    if not -MAX_VALUE <= number <= MAX_VALUE:  # also false for NaN
        raise _invalid_value(name, value, "NaN, infinite or out of range")
    return number


def check_dimension(name: object, value: object) -> None:
    """Raise ``InvalidDimensionError`` unless ``name: value`` is a valid EMF dimension."""
    if not isinstance(name, str):
        from lambda_kit.exceptions import InvalidDimensionError

        raise InvalidDimensionError(
            f"Invalid dimension name {name!r}: it must be a str, not {type(name).__name__}.",
            dimension=name,
        )
    problem = _text_problem(name, MAX_DIMENSION_NAME)
    if problem is None and name.startswith(":"):
        problem = "starts with ':'"
    if problem is None and name == "_aws":
        problem = "is reserved for EMF metadata"
    if problem is not None:
        from lambda_kit.exceptions import InvalidDimensionError

        raise InvalidDimensionError(f"Invalid dimension name {name[:80]!r}: it {problem}.", dimension=name)
    if not isinstance(value, str):
        from lambda_kit.exceptions import InvalidDimensionError

        raise InvalidDimensionError(
            f"Invalid value for dimension {name!r}: it must be a str, not {type(value).__name__} "
            "(convert it with str() if it is meant as a label).",
            dimension=name,
        )
    problem = _text_problem(value, MAX_DIMENSION_VALUE)
    if problem is not None:
        from lambda_kit.exceptions import InvalidDimensionError

        raise InvalidDimensionError(
            f"Invalid value {value[:80]!r} for dimension {name!r}: it {problem}.", dimension=name
        )


def _text_problem(text: str, limit: int) -> str | None:
    if not text.strip():
        return "must contain a non-whitespace character"
    if len(text) > limit:
        return f"is {len(text)} characters long; the limit is {limit}"
    if not text.isascii() or not text.isprintable():
        return "must be printable ASCII"
    return None


def check_dimension_set(dimensions: object) -> dict[str, str]:
    """A validated copy of one dimension set (the slow path, with precise errors)."""
    if not hasattr(dimensions, "items"):
        from lambda_kit.exceptions import InvalidDimensionError

        raise InvalidDimensionError(
            f"A dimension set must be a mapping of names to values, not {type(dimensions).__name__}."
        )
    checked: dict[str, str] = dict(dimensions.items())
    for name, value in checked.items():
        check_dimension(name, value)
    return checked


def epoch_ms(timestamp: object) -> int:
    """``timestamp`` (a ``datetime`` or epoch milliseconds) as the epoch milliseconds of a line.

    Raises ``InvalidTimestampError`` outside CloudWatch's window (14 days ago to 2 hours ahead).
    """
    if isinstance(timestamp, bool):
        milliseconds: float = float("nan")
    elif isinstance(timestamp, (int, float)):
        milliseconds = timestamp
    elif callable(getattr(timestamp, "timestamp", None)):
        try:
            milliseconds = timestamp.timestamp() * 1000.0  # type: ignore[attr-defined]  # a datetime
        except (OverflowError, OSError, ValueError):  # naive datetimes near year 1 or 9999
            milliseconds = float("nan")
    else:
        from lambda_kit.exceptions import InvalidTimestampError

        raise InvalidTimestampError(
            f"Invalid timestamp {timestamp!r}; expected a datetime or epoch milliseconds.",
            timestamp=timestamp,
        )
    now = time.time() * 1000.0
    if not now - PAST_MS <= milliseconds <= now + FUTURE_MS:  # also false for NaN
        from lambda_kit.exceptions import InvalidTimestampError

        raise InvalidTimestampError(
            f"Invalid timestamp {timestamp!r}; CloudWatch accepts times from 14 days ago to 2 hours ahead.",
            timestamp=timestamp,
        )
    return round(milliseconds)


class MetricDefinition:
    """A checked metric name, unit and storage resolution, with the JSON fragments of a line.

    Made once per name (the collector caches it) and never changed after, so threads
    share it without a lock.

    Args:
        name: The metric name (1-255 printable characters, not ``_aws``).
        unit: A StandardUnit name, or an enum member whose ``value`` is one; ``None``
            means ``"None"``.
        storage_resolution: 60 or 1, or an enum member whose ``value`` is one.

    Attributes:
        given_unit: ``unit`` as given: a later call passing the same object (or an
            equal one) needs no check.
        given_resolution: ``storage_resolution`` as given.
        unit: The StandardUnit name.
        resolution: 60 or 1.
        definition_json: The EMF ``MetricDefinition`` object (standard resolution,
            EMF's default, is left out).
        member_key: What precedes the values in the root object: ``,"Latency":``.

    Raises:
        InvalidMetricNameError: The name is not a valid metric name.
        InvalidUnitError: The unit is not a StandardUnit.
        InvalidStorageResolutionError: The resolution is neither 60 nor 1.
    """

    __slots__ = ("definition_json", "given_resolution", "given_unit", "member_key", "resolution", "unit")

    def __init__(self, name: object, unit: object, storage_resolution: object) -> None:
        checked = _check_metric_name(name)
        self.given_unit = unit
        self.given_resolution = storage_resolution
        self.unit = _check_unit(checked, unit)
        self.resolution = _check_resolution(checked, storage_resolution)
        encoded = json_str(checked)
        tail = ',"StorageResolution":1}' if self.resolution == 1 else "}"
        self.definition_json = '{"Name":' + encoded + ',"Unit":"' + self.unit + '"' + tail
        self.member_key = "," + encoded + ":"


# -- dimension sets --------------------------------------------------------------------------


def effective_sets(
    defaults: dict[str, str], custom: list[dict[str, str]] | None, use_default: bool
) -> list[dict[str, str]]:
    """The dimension sets a line carries (aws-embedded-metrics' rules for defaults)."""
    if not custom:
        return [defaults] if use_default and defaults else []
    if use_default and defaults:
        return [{**defaults, **dimensions} for dimensions in custom]
    return custom


def check_one_value_per_name(sets: list[dict[str, str]]) -> None:
    """Raise if two dimension sets give one name different values (a line holds one value)."""
    seen: dict[str, str] = {}
    for dimensions in sets:
        for name, value in dimensions.items():
            previous = seen.setdefault(name, value)
            if previous != value:
                from lambda_kit.exceptions import InvalidDimensionError

                raise InvalidDimensionError(
                    f"Dimension {name!r} would have the value {previous!r} in one dimension set and "
                    f"{value!r} in another; an EMF line holds one value per dimension name, so both "
                    "values are not allowed in one blob. Use metrics.new() for a separate blob, or "
                    "flush first.",
                    dimension=name,
                )


def dimension_fragments(
    sets: list[dict[str, str]], names: dict[str, str], values: dict[str, str]
) -> tuple[str, str]:
    """(the ``Dimensions`` array, the root members holding the values) for checked ``sets``.

    ``names`` and ``values`` map names and values already encoded to their JSON; the
    others are encoded here.
    """
    if not sets:
        return "[[]]", ""  # one empty set: metrics without dimensions (an empty array is invalid)
    merged: dict[str, str] = {}
    keys: list[str] = []
    for dimensions in sets:
        merged.update(dimensions)
        keys.append(",".join([names.get(name) or json_str(name) for name in dimensions]))
    members = "".join(
        [
            "," + (names.get(name) or json_str(name)) + ":" + (values.get(value) or json_str(value))
            for name, value in merged.items()
        ]
    )
    return "[[" + "],[".join(keys) + "]]", members


# -- lines: encoding and the write ---------------------------------------------------------

# Held around every write of every logger (new() children and ColdStart lines included):
# concurrent large writes to one text stream interleave, and CloudWatch silently drops
# the mixed lines. Re-entrant, so a signal handler that flushes metrics while the main
# thread is writing cannot deadlock.
_write_lock = _thread.RLock()

# When not empty, the last sink gets every line instead of sys.stdout (see add_sink).
_sinks: list[Callable[[str], object]] = []


# The part of a line between its timestamp and its properties, per (metric definitions,
# namespace, dimensions, dimension values): a handler writes the same few shapes of line
# again and again. Properties (a request id, say) change every time and are left out.
# Entries are immutable strings; a lost race only builds one twice.
_middles: dict[tuple[tuple[MetricDefinition, ...], str, str, str], str] = {}
_MIDDLES_LIMIT = 64  # a line's middle holds up to 100 definitions and 30 dimensions: a few KB
_first = itemgetter(0)

# On Lambda, the Python runtime client replaces sys.stdout with its Unbuffered wrapper,
# whose write() flushes the stream itself: flushing again would only cost a Python-level
# __getattr__ and an empty flush per invocation. Per stream class, whether it is that one.
_SELF_FLUSHING = ("awslambdaric.bootstrap", "Unbuffered")
_flushes_itself: dict[type, bool] = {}


class _SplitNeeded(Exception):
    """A metric has more values than one line takes."""


def _values_member(entry: list[Any]) -> str:
    """The member of a metric (one value, or several); raises ``_SplitNeeded`` for too many."""
    definition: MetricDefinition = entry[0]
    if len(entry) == 2:
        return definition.member_key + repr(entry[1])
    if len(entry) > MAX_VALUES_PER_METRIC + 1:
        raise _SplitNeeded
    return definition.member_key + "[" + ",".join(map(repr, entry[1:])) + "]"


def emit(
    entries: Collection[list[Any]],
    timestamp: int | None,
    namespace: str,
    dimensions: str,
    members: str,
    properties: str = "",
) -> None:
    """Write one blob as EMF lines: one line when it fits, else as many as the limits need.

    The lines are written under the module's write lock, then the stream is flushed
    (unless it is the Lambda runtime client's ``Unbuffered`` wrapper, which flushes every
    write itself): the flush makes them leave the process before the invocation ends (a
    frozen or recycled execution environment would otherwise hold or lose a buffered line).

    Args:
        entries: One list per metric: its :class:`MetricDefinition`, then its values
            (finite ``int`` or ``float``, written as their ``repr``, as ``json`` would).
        timestamp: The lines' epoch milliseconds; ``None`` for now.
        namespace: The namespace, JSON-encoded.
        dimensions: The ``Dimensions`` array, JSON-encoded.
        members: The root members after ``_aws`` holding the dimension values.
        properties: The root members after those: the properties, JSON-encoded.

    Raises:
        MetricsError: One metric does not fit in a line beside its dimensions and
            properties (nothing is written).
        Exception: Whatever the stream raises propagates (``log_metrics`` turns it
            into a warning); ``ValueError`` when ``sys.stdout`` is ``None``.
    """
    lines: tuple[str] | list[str] | None = None
    if len(entries) <= MAX_METRICS_PER_LINE:  # the common case: one line, built in one pass
        definitions = tuple(map(_first, entries))
        values: str | None
        try:  # each metric with one value (the usual case): [definition, value] unpacks
            values = "".join([definition.member_key + repr(value) for definition, value in entries])
        except ValueError:  # one with several values does not (repr of a checked value never raises)
            try:
                values = "".join([_values_member(entry) for entry in entries])
            except _SplitNeeded:
                values = None
        if values is not None:
            # Everything between the timestamp and the values is the same from one
            # invocation to the next for the same metrics and dimensions: made once.
            key = (definitions, namespace, dimensions, members)
            middle = _middles.get(key)
            if middle is None:
                middle = (
                    ',"CloudWatchMetrics":[{"Namespace":'
                    + namespace
                    + ',"Dimensions":'
                    + dimensions
                    + ',"Metrics":['
                    + ",".join([definition.definition_json for definition in definitions])
                    + "]}]}"
                    + members
                )
                if len(_middles) >= _MIDDLES_LIMIT:
                    _middles.clear()  # metric names that vary without bound must not grow memory
                _middles[key] = middle
            if timestamp is None:
                timestamp = int(time.time() * 1000)
            line = f'{{"_aws":{{"Timestamp":{timestamp}{middle}{properties}{values}}}\n'
            if len(line) <= MAX_LINE:
                lines = (line,)
    if lines is None:
        head = (
            '{"_aws":{"Timestamp":'
            + str(int(time.time() * 1000) if timestamp is None else timestamp)
            + ',"CloudWatchMetrics":[{"Namespace":'
            + namespace
            + ',"Dimensions":'
            + dimensions
            + ',"Metrics":['
        )
        lines = _split(entries, head, members + properties)
    _write_lock.acquire()  # not `with`: this runs once per invocation, and `with` costs more
    try:
        if _sinks:
            sink = _sinks[-1]
            for line in lines:
                sink(line)
            return
        stream = sys.stdout
        if stream is None:  # pythonw, or a process that set it so: print() would drop the line
            raise ValueError("sys.stdout is None: there is no stream to write the EMF line to")
        for line in lines:
            stream.write(line)
        kind = stream.__class__
        flushes_itself = _flushes_itself.get(kind)
        if flushes_itself is None:
            flushes_itself = (kind.__module__, kind.__qualname__) == _SELF_FLUSHING
            if len(_flushes_itself) >= 16:  # stream classes made on the fly must not grow memory
                _flushes_itself.clear()
            _flushes_itself[kind] = flushes_itself
        if not flushes_itself:
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
    finally:
        _write_lock.release()


def _member(definition: MetricDefinition, values: list[float | int]) -> str:
    if len(values) == 1:
        return definition.member_key + repr(values[0])
    return definition.member_key + "[" + ",".join(map(repr, values)) + "]"


def _split(entries: Iterable[list[Any]], head: str, tail: str) -> list[str]:
    """The general case: rounds of at most 100 values per metric, lines of at most 100 metrics."""
    pending: list[tuple[MetricDefinition, list[Any]]] = [(entry[0], entry[1:]) for entry in entries]
    budget = MAX_LINE - len(head) - len(tail)
    lines: list[str] = []
    start = 0
    while pending:
        definitions: list[str] = []
        members: list[str] = []
        size = 0
        for definition, values in pending:
            member = _member(definition, values[start : start + MAX_VALUES_PER_METRIC])
            cost = len(definition.definition_json) + len(member) + 1
            if definitions and (len(definitions) == MAX_METRICS_PER_LINE or size + cost > budget):
                lines.append(head + ",".join(definitions) + "]}]}" + tail + "".join(members) + "}\n")
                definitions, members, size = [], [], 0
            if cost > budget:
                from lambda_kit.exceptions import MetricsError

                raise MetricsError(
                    f"Metric {definition.member_key[1:-1]} does not fit in one 1 MB EMF event beside its "
                    "dimensions and properties; nothing was written."
                )
            definitions.append(definition.definition_json)
            members.append(member)
            size += cost
        lines.append(head + ",".join(definitions) + "]}]}" + tail + "".join(members) + "}\n")
        start += MAX_VALUES_PER_METRIC
        pending = [item for item in pending if len(item[1]) > start]
    return lines


# -- the sink hook -------------------------------------------------------------------------


def add_sink(sink: Callable[[str], object]) -> None:
    """Send every line (``\\n`` included) to ``sink`` instead of ``sys.stdout``.

    Sinks nest: the one added last gets the lines until it is removed. This is the
    hook of :func:`lambda_kit.testing.capture_metrics`.
    """
    with _write_lock:  # a line being written finishes where it started
        _sinks.append(sink)


def remove_sink(sink: Callable[[str], object]) -> None:
    """Undo the latest :func:`add_sink` of ``sink`` (compared with ``==``); a no-op if there is none."""
    with _write_lock:
        for index in range(len(_sinks) - 1, -1, -1):
            if _sinks[index] == sink:
                del _sinks[index]
                return
