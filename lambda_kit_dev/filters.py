"""Lambda's event filtering (an event source mapping's ``FilterCriteria``), applied locally.

A mapping's filters decide which records of an SQS queue, a Kinesis stream or a
DynamoDB stream reach the function. :class:`FilterCriteria` checks the patterns as
Lambda does when the mapping is created (and refuses what Lambda refuses, with its
reason), and :meth:`FilterCriteria.matches` applies them to one record;
:func:`filter_batch` applies them to a whole batch event and says what Lambda does
with the records that match no filter, so that a test can hand the handler exactly
the batch Lambda would.

The model (AWS's event-filtering documentation; the syntax is EventBridge's event
patterns):

* Several filters are OR'ed: a record is kept when one of them matches.
* In a pattern, keys are AND'ed and nest as the record does; a leaf is an array of
  conditions, OR'ed. A condition is a value (string, number, ``null``; ``""`` is the
  empty string) or one operator: ``prefix``, ``suffix``, ``equals-ignore-case``,
  ``wildcard``, ``anything-but`` (values, or one ``prefix`` / ``suffix`` /
  ``equals-ignore-case``), ``numeric`` (``=``, or a lower bound ``>``/``>=``, an upper
  bound ``<``/``<=``, or one of each) and ``exists``. ``"$or": [{...}, {...}]`` ORs
  whole sub-patterns.
* ``numeric`` matches JSON numbers only: not DynamoDB's ``{"N": "101"}``, a string.
* Strings match character by character, without case-folding or normalisation, and
  numbers by their JSON text too: ``300``, ``300.0`` and ``3.0e2`` are different
  values for an exact match (``numeric`` compares them as numbers).
* Matching looks at the record's leaves: an array in the record matches when one of
  its elements does; ``exists`` is about a leaf at that exact path (an object there
  is not one), ``{"exists": false}`` matches when there is none.
* Per source, the data key is decoded first: SQS ``body`` (JSON, or plain text for a
  pattern whose ``body`` is a leaf array: a JSON body then never matches a plain-text
  pattern, nor plain text a JSON pattern), Kinesis ``data`` (base64; the record's
  ``kinesis`` fields are matched at the top level, as Lambda's examples write them)
  and DynamoDB ``dynamodb`` (typed JSON: numbers are strings, ``{"N": "101"}``).
* A record that matches no filter: SQS deletes the message; Kinesis and DynamoDB
  Streams skip the record (the iterator advances past it); when no record is left,
  the function is not invoked.

Example:
    >>> criteria = FilterCriteria(['{"body": {"RequestCode": ["BBBB"]}}'])
    >>> record = {"eventSource": "aws:sqs", "body": '{"RequestCode": "BBBB"}'}
    >>> criteria.matches(record)
    True
    >>> batch = filter_batch({"Records": [record, {**record, "body": "plain"}]}, criteria)
    >>> len(batch.kept), len(batch.dropped), batch.disposition
    (1, 1, 'deleted from the queue')
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from dataclasses import dataclass, field

from lambda_kit_dev.exceptions import FilterPatternError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = [
    "DEFAULT_MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "FilterCriteria",
    "FilterPatternError",
    "FilteredBatch",
    "add_arguments",
    "filter_batch",
    "run",
]

DEFAULT_MAX_FILTERS = 5  # per event source mapping; up to 10 with a quota increase
QUOTA_MAX_FILTERS = 10
MAX_PATTERN_LENGTH = 4096  # the Filter.Pattern string (Lambda API reference)
NUMERIC_LIMIT = 5.0e9  # EventBridge: numeric matching between -5.0e9 and +5.0e9
SOURCES = ("sqs", "kinesis", "dynamodb")
_DATA_KEY = {"sqs": "body", "kinesis": "data", "dynamodb": "dynamodb"}
_DISPOSITION = {
    "sqs": "deleted from the queue",
    "kinesis": "skipped: the iterator moves past them and the stream keeps them until they expire",
    "dynamodb": "skipped: the iterator moves past them and the stream keeps them until they expire",
}
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists")
_INVALID = "InvalidParameterValueException: Invalid filter pattern definition."
_SAM_SOURCES = {"SQS": "sqs", "Kinesis": "kinesis", "DynamoDB": "dynamodb"}


class _Number(float):
    """A JSON number that remembers its text: exact matches compare the text."""

    text: str

    def __new__(cls, text: str) -> _Number:
        value = super().__new__(cls, text)
        value.text = text
        return value


def _loads(text: str) -> Any:
    return json.loads(text, parse_int=_Number, parse_float=_Number, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _number_text(value: Any) -> str | None:
    if isinstance(value, _Number):
        return value.text
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return json.dumps(value)


# --- patterns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    kind: str  # "exact-string", "exact-number", "null", or an operator
    value: Any = None


def _invalid(where: str, problem: str) -> FilterPatternError:
    return FilterPatternError(f"{_INVALID} {where}: {problem}")


_Leaf = tuple[tuple[str, ...], list["_Condition"]]
_MAX_ALTERNATIVES = 1000  # $or expanded: a pattern with more alternatives is refused


def _compile(pattern: Any, where: str, path: tuple[str, ...] = ()) -> list[list[_Leaf]]:
    """The pattern as alternatives (``$or`` expanded), each a list of (path, conditions) leaves.

    Raises :class:`FilterPatternError` for what Lambda refuses.
    """
    if not isinstance(pattern, dict):
        raise _invalid(where, f"{'/'.join(path) or 'the pattern'} must be a JSON object")
    if not pattern:
        raise _invalid(where, f"{'/'.join(path) or 'the pattern'} is an empty object")
    alternatives: list[list[_Leaf]] = [[]]
    for key, value in pattern.items():
        here = (*path, key)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise _invalid(where, f"{'/'.join(here)} takes an array of at least two pattern objects")
            branches = [branch for sub in value for branch in _compile(sub, where, path)]
        elif isinstance(value, dict):
            branches = _compile(value, where, here)
        elif isinstance(value, list):
            if not value:
                raise _invalid(where, f"{'/'.join(here)} is an empty array (nothing could match)")
            branches = [[(here, [_condition(item, where, here) for item in value])]]
        else:
            raise _invalid(
                where,
                f"{'/'.join(here)} must be an array of conditions or an object, not {json.dumps(value)}",
            )
        alternatives = [done + branch for done in alternatives for branch in branches]
        if len(alternatives) > _MAX_ALTERNATIVES:
            raise _invalid(where, f"$or makes more than {_MAX_ALTERNATIVES} combinations")
    return alternatives


def _condition(item: Any, where: str, path: tuple[str, ...]) -> _Condition:
    at = "/".join(path)
    if item is None:
        return _Condition("null")
    if isinstance(item, str):
        return _Condition("exact-string", item)
    if isinstance(item, bool):
        return _Condition("exact-number", "true" if item else "false")  # true/false: their JSON text
    if isinstance(item, (int, float)):
        return _Condition("exact-number", _number_text(item))
    if not isinstance(item, dict):
        raise _invalid(where, f"{at}: a condition is a string, a number, null or an object, not an array")
    if len(item) != 1:
        raise _invalid(where, f"{at}: an operator object holds exactly one operator, not {len(item)}")
    ((operator, value),) = item.items()
    if operator not in _OPERATORS:
        raise _invalid(where, f"{at}: unknown operator {operator!r}; expected one of {', '.join(_OPERATORS)}")
    if operator in ("prefix", "suffix"):
        if (
            isinstance(value, dict)
            and list(value) == ["equals-ignore-case"]
            and isinstance(value["equals-ignore-case"], str)
        ):
            return _Condition(f"{operator}-ignore-case", value["equals-ignore-case"].casefold())
        if not isinstance(value, str):
            raise _invalid(where, f"{at}: {operator} takes a string")
        return _Condition(operator, value)
    if operator == "equals-ignore-case":
        if not isinstance(value, str):
            raise _invalid(where, f"{at}: equals-ignore-case takes a string")
        return _Condition(operator, value.casefold())
    if operator == "wildcard":
        if not isinstance(value, str):
            raise _invalid(where, f"{at}: wildcard takes a string")
        if "**" in value:
            raise _invalid(where, f"{at}: consecutive wildcard characters are not allowed")
        parts = re.split(r"(?<!\\)\*", value)
        regex = ".*".join(re.escape(part.replace("\\*", "*").replace("\\\\", "\\")) for part in parts)
        return _Condition(operator, re.compile(regex, re.DOTALL))
    if operator == "exists":
        if not isinstance(value, bool):
            raise _invalid(where, f"{at}: exists takes true or false")
        return _Condition(operator, value)
    if operator == "numeric":
        return _Condition(operator, _numeric(value, where, at))
    return _Condition(operator, _anything_but(value, where, at))


def _numeric(value: Any, where: str, at: str) -> list[tuple[str, float]]:
    if not isinstance(value, list) or len(value) not in (2, 4):
        raise _invalid(where, f'{at}: numeric takes ["op", number] or a range ["op", number, "op", number]')
    bounds: list[tuple[str, float]] = []
    for i in range(0, len(value), 2):
        operator, number = value[i], value[i + 1]
        if operator not in ("=", "<", "<=", ">", ">="):
            raise _invalid(where, f"{at}: numeric operator {operator!r}; expected =, <, <=, > or >=")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise _invalid(where, f"{at}: numeric {operator} takes a number, not {json.dumps(number)}")
        if not -NUMERIC_LIMIT <= float(number) <= NUMERIC_LIMIT:
            raise _invalid(where, f"{at}: numeric values must lie between -5.0e9 and 5.0e9")
        bounds.append((operator, float(number)))
    if len(bounds) == 2:
        (low, _), (high, _) = bounds
        if low not in (">", ">=") or high not in ("<", "<="):
            raise _invalid(
                where, f"{at}: a numeric range is a lower bound (> or >=) then an upper bound (< or <=)"
            )
        if bounds[0][1] > bounds[1][1]:
            raise _invalid(where, f"{at}: the numeric range's lower bound is above its upper bound")
    return bounds


def _anything_but(value: Any, where: str, at: str) -> tuple[str, Any]:
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("prefix", "suffix", "equals-ignore-case"):
            raise _invalid(
                where, f"{at}: anything-but takes values or one prefix, suffix or equals-ignore-case"
            )
        ((operator, inner),) = value.items()
        if (
            isinstance(inner, list)
            and operator == "equals-ignore-case"
            and all(isinstance(v, str) for v in inner)
        ):
            return (operator, [v.casefold() for v in inner])
        if not isinstance(inner, str):
            raise _invalid(where, f"{at}: anything-but {operator} takes a string")
        return (operator, inner.casefold() if operator == "equals-ignore-case" else inner)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _invalid(where, f"{at}: anything-but takes at least one value")
    texts: list[tuple[str, str]] = []
    for item in values:
        if isinstance(item, str):
            texts.append(("string", item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            texts.append(("number", _number_text(item) or ""))
        else:
            raise _invalid(where, f"{at}: anything-but takes strings or numbers, not {json.dumps(item)}")
    return ("values", texts)


# --- matching ---------------------------------------------------------------------------

_MISSING = object()


def _leaves(value: Any, path: tuple[str, ...], out: dict[tuple[str, ...], list[Any]]) -> None:
    """Flatten a record: every leaf value under its path (array elements share the path)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, (*path, key), out)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, path, out)
    else:
        out.setdefault(path, []).append(value)


def _test(condition: _Condition, value: Any) -> bool:
    kind, expected = condition.kind, condition.value
    if kind == "null":
        return value is None
    if kind == "exact-string":
        return isinstance(value, str) and value == expected
    if kind == "exact-number":
        if isinstance(value, bool):
            return bool(expected == ("true" if value else "false"))
        return bool(_number_text(value) == expected)
    if kind == "exists":
        return bool(expected)
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        number = float(value)
        return all(_compare(number, op, bound) for op, bound in expected)
    if not isinstance(value, str):
        if kind == "anything-but" and expected[0] == "values":
            text = _number_text(value)
            return text is not None and ("number", text) not in expected[1]
        return False
    if kind == "prefix":
        return value.startswith(expected)
    if kind == "suffix":
        return value.endswith(expected)
    if kind == "prefix-ignore-case":
        return value.casefold().startswith(expected)
    if kind == "suffix-ignore-case":
        return value.casefold().endswith(expected)
    if kind == "equals-ignore-case":
        return bool(value.casefold() == expected)
    if kind == "wildcard":
        return expected.fullmatch(value) is not None
    operator, operand = expected  # anything-but
    if operator == "values":
        return ("string", value) not in operand
    if operator == "prefix":
        return not value.startswith(operand)
    if operator == "suffix":
        return not value.endswith(operand)
    folded = value.casefold()
    return folded not in operand if isinstance(operand, list) else folded != operand


def _compare(number: float, operator: str, bound: float) -> bool:
    if operator == "=":
        return math.isclose(number, bound, rel_tol=0, abs_tol=1e-9)
    if operator == "<":
        return number < bound
    if operator == "<=":
        return number <= bound
    if operator == ">":
        return number > bound
    return number >= bound


def _leaf_matches(conditions: list[_Condition], values: list[Any] | None) -> bool:
    if values is None:  # no leaf at this path
        return any(c.kind == "exists" and c.value is False for c in conditions)
    return any(
        _test(c, v) for c in conditions if not (c.kind == "exists" and c.value is False) for v in values
    )


@dataclass(frozen=True)
class _Pattern:
    text: str
    alternatives: list[list[_Leaf]]
    data_form: dict[str, str]  # data key -> "json" or "plain", when the pattern names it


class FilterCriteria:
    """An event source mapping's filters, checked as Lambda checks them.

    Args:
        patterns: The filters' patterns: JSON strings (as in ``Filters[].Pattern``) or
            already-parsed objects.
        source: ``"sqs"``, ``"kinesis"`` or ``"dynamodb"``; by default each record's
            ``eventSource`` says. Given, it also checks the patterns for that source
            (a Kinesis or DynamoDB pattern's data key must be a JSON object).
        max_filters: The account's quota of filters per mapping (5 by default, at
            most 10).

    Raises:
        FilterPatternError: A pattern Lambda would refuse: not JSON, not an object,
            a leaf that is not an array, an unknown or malformed operator, a pattern
            longer than 4,096 characters, or more filters than ``max_filters``.

    Example:
        >>> FilterCriteria.from_dict({"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]}).patterns
        ['{"eventName": ["INSERT"]}']
    """

    def __init__(
        self,
        patterns: Iterable[str | Mapping[str, Any]],
        *,
        source: str | None = None,
        max_filters: int = DEFAULT_MAX_FILTERS,
    ) -> None:
        if source is not None and source not in SOURCES:
            raise FilterPatternError(
                f"Unknown event source {source!r}; expected one of {', '.join(SOURCES)}."
            )
        if not 1 <= max_filters <= QUOTA_MAX_FILTERS:
            raise FilterPatternError(
                f"Invalid max_filters={max_filters}; the quota is 5 filters per mapping, "
                "at most 10 on request."
            )
        self.source = source
        texts = [p if isinstance(p, str) else json.dumps(p) for p in patterns]
        if len(texts) > max_filters:
            raise FilterPatternError(
                f"InvalidParameterValueException: {len(texts)} filters; an event source mapping "
                f"takes at most {max_filters} (the default quota is 5 filters, up to 10 with a "
                "quota increase)."
            )
        self.patterns = texts
        self._compiled = [self._parse(text, i) for i, text in enumerate(texts, 1)]

    @classmethod
    def from_dict(
        cls, document: Mapping[str, Any], *, source: str | None = None, max_filters: int = DEFAULT_MAX_FILTERS
    ) -> FilterCriteria:
        """From a ``FilterCriteria`` document: ``{"Filters": [{"Pattern": "..."}]}``."""
        filters = document.get("Filters")
        if not isinstance(filters, list) or not all(
            isinstance(f, dict) and isinstance(f.get("Pattern", ""), str) for f in filters
        ):
            raise FilterPatternError(
                "InvalidParameterValueException: FilterCriteria is "
                '{"Filters": [{"Pattern": "<JSON string>"}, ...]}.'
            )
        return cls([f.get("Pattern", "") for f in filters], source=source, max_filters=max_filters)

    @classmethod
    def from_template(
        cls,
        template: str | os.PathLike[str],
        function: str,
        *,
        event: str | None = None,
        max_filters: int = DEFAULT_MAX_FILTERS,
    ) -> FilterCriteria:
        """The filters of a SAM function's SQS, Kinesis or DynamoDB event (its ``FilterCriteria``).

        Args:
            template: The SAM template.
            function: The function's logical ID.
            event: The event's name under ``Events``; by default the only one of the
                function's SQS, Kinesis and DynamoDB events.
            max_filters: The account's quota of filters per mapping.

        Raises:
            FilterPatternError: No such function or event, an event without
                ``FilterCriteria``, a pattern written with an intrinsic function, or a
                pattern Lambda would refuse. (The template itself: ``ConfigurationError``.)

        Example:
            >>> criteria = FilterCriteria.from_template("template.yaml", "OrdersConsumer")  # doctest: +SKIP
        """
        from lambda_kit_dev._sam import load_template

        document = load_template(template)
        resource = document["Resources"].get(function)
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            raise FilterPatternError(f"Template {os.fspath(template)!r} has no function {function!r}.")
        raw_events = properties.get("Events")
        events: dict[str, Any] = raw_events if isinstance(raw_events, dict) else {}
        sources: dict[str, str] = {}
        for name, spec in events.items():
            kind = spec.get("Type") if isinstance(spec, dict) else None
            if isinstance(kind, str) and kind in _SAM_SOURCES:
                sources[name] = _SAM_SOURCES[kind]
        if event is None:
            if len(sources) != 1:
                raise FilterPatternError(
                    f"Function {function!r} has {len(sources)} SQS, Kinesis or DynamoDB events "
                    f"({', '.join(sorted(sources)) or 'none'}): name one with event=."
                )
            event = next(iter(sources))
        if event not in sources:
            raise FilterPatternError(
                f"Function {function!r} has no SQS, Kinesis or DynamoDB event {event!r}; "
                f"its events: {', '.join(sorted(sources)) or 'none'}."
            )
        spec_properties = events[event].get("Properties")
        criteria = spec_properties.get("FilterCriteria") if isinstance(spec_properties, dict) else None
        if not isinstance(criteria, dict):
            raise FilterPatternError(f"Event {event!r} of function {function!r} has no FilterCriteria.")
        filters = criteria.get("Filters")
        for item in filters if isinstance(filters, list) else []:
            pattern = item.get("Pattern") if isinstance(item, dict) else None
            if isinstance(pattern, dict):
                intrinsic = next((key for key in pattern if str(key).startswith("Fn::")), None)
                raise FilterPatternError(
                    f"Event {event!r} of function {function!r}: "
                    + (
                        f"a Pattern written with an intrinsic function ({intrinsic}) is only known once "
                        "deployed; write it as a string."
                        if intrinsic
                        else "Pattern is a string, the JSON pattern in quotes (CloudFormation refuses a "
                        "mapping)."
                    )
                )
        return cls.from_dict(criteria, source=sources[event], max_filters=max_filters)

    def _parse(self, text: str, index: int) -> _Pattern:
        where = f"filter {index}"
        if len(text) > MAX_PATTERN_LENGTH:
            raise FilterPatternError(
                "ValidationException: 1 validation error detected: Value at "
                f"'filterCriteria.filters.{index}.member.pattern' failed to satisfy constraint: Member must "
                f"have length less than or equal to {MAX_PATTERN_LENGTH} (it has {len(text)})."
            )
        try:
            pattern = _loads(text)
        except ValueError as error:
            raise _invalid(where, f"not JSON ({error})") from None
        alternatives = _compile(pattern, where)
        data_form: dict[str, str] = {}
        for key in ("body", "data", "dynamodb"):
            if key in pattern:
                data_form[key] = "json" if isinstance(pattern[key], dict) else "plain"
        if self.source in ("kinesis", "dynamodb") and data_form.get(_DATA_KEY[self.source]) == "plain":
            raise _invalid(
                where,
                f"the pattern for {_DATA_KEY[self.source]} must be JSON (an object): {self.source} filters "
                "its data as JSON only",
            )
        return _Pattern(text, alternatives, data_form)

    def which(self, record: Mapping[str, Any], *, source: str | None = None) -> int | None:
        """The index of the first filter that ``record`` matches, or None."""
        kind = source or self.source or _source_of(record)
        for index, pattern in enumerate(self._compiled):
            if kind in ("kinesis", "dynamodb") and pattern.data_form.get(_DATA_KEY[kind]) == "plain":
                raise _invalid(
                    f"filter {index + 1}",
                    f"the pattern for {_DATA_KEY[kind]} must be JSON (an object): {kind} filters its data "
                    "as JSON only",
                )
            view = _view(record, kind, pattern)
            if view is _MISSING:
                continue
            flat: dict[tuple[str, ...], list[Any]] = {}
            _leaves(view, (), flat)
            if any(
                all(_leaf_matches(conditions, flat.get(path)) for path, conditions in leaves)
                for leaves in pattern.alternatives
            ):
                return index
        return None

    def matches(self, record: Mapping[str, Any], *, source: str | None = None) -> bool:
        """Whether Lambda would hand ``record`` to the function (one filter matches)."""
        return self.which(record, source=source) is not None


def _source_of(record: Mapping[str, Any]) -> str:
    found = record.get("eventSource") or record.get("EventSource")
    if isinstance(found, str) and found.startswith("aws:"):
        kind = found[4:]
        if kind in SOURCES:
            return kind
    raise FilterPatternError(
        f"Cannot tell the record's event source (eventSource {found!r}); pass source= "
        "'sqs', 'kinesis' or 'dynamodb'."
    )


def _view(record: Mapping[str, Any], kind: str, pattern: _Pattern) -> Any:
    """What the pattern is matched against, with the data key decoded; _MISSING to drop."""
    key = _DATA_KEY[kind]
    form = pattern.data_form.get(key)
    if kind == "sqs":
        view = dict(record)
        if form is None:
            return view
        body = record.get("body")
        parsed = _json_document(body) if isinstance(body, str) else _MISSING
        if form == "json":
            if parsed is _MISSING:
                return _MISSING  # plain-text body, JSON pattern: Lambda drops the message
            view["body"] = parsed
        elif parsed is not _MISSING:
            return _MISSING  # JSON body, plain-text pattern: dropped too
        return view
    if kind == "kinesis":
        inner = record.get("kinesis")
        view = {**record, **(inner if isinstance(inner, dict) else {})}
        view.pop("kinesis", None)
        if form is None:
            return view
        data = view.get("data")
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8") if isinstance(data, str) else None
        except (binascii.Error, ValueError):
            decoded = None
        parsed = _json_document(decoded) if decoded is not None else _MISSING
        if parsed is _MISSING or form != "json":
            return _MISSING  # data that is not JSON matches no data pattern
        view["data"] = parsed
        return view
    view = dict(record)
    if form is not None and not isinstance(record.get("dynamodb"), dict):
        return _MISSING
    return view


def _json_document(text: str) -> Any:
    """The JSON object or array in ``text``, or _MISSING for anything else (plain text)."""
    try:
        value = _loads(text)
    except ValueError:
        return _MISSING
    return value if isinstance(value, (dict, list)) else _MISSING


@dataclass(frozen=True)
class FilteredBatch:
    """A batch event after Lambda's filtering (see :func:`filter_batch`).

    ``event`` is the event the function receives (``Records`` narrowed to the kept
    ones), or ``None`` when nothing is left: Lambda does not invoke the function
    then. ``kept`` and ``dropped`` are the records; ``matched`` the index of the
    filter each kept record matched. ``disposition`` says what Lambda does with the
    dropped ones.
    """

    event: dict[str, Any] | None
    kept: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    matched: list[int]
    source: str | None
    disposition: str
    invoked: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "invoked", self.event is not None)


def filter_batch(event: Mapping[str, Any], criteria: FilterCriteria) -> FilteredBatch:
    """Apply ``criteria`` to a batch event's ``Records`` as Lambda does before invoking.

    Example:
        >>> from lambda_kit_dev.emulator import Emulator  # doctest: +SKIP
        >>> batch = filter_batch(event, FilterCriteria(['{"body": {"kind": ["order"]}}']))  # doctest: +SKIP
        >>> if batch.invoked:  # doctest: +SKIP
        ...     result = function.invoke(batch.event)

    Raises:
        FilterPatternError: ``event`` has no ``Records`` list, or a record's source
            cannot be told.
    """
    records = event.get("Records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FilterPatternError(
            "The event has no Records list of objects: not a batch from SQS, Kinesis or DynamoDB."
        )
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    matched: list[int] = []
    source = criteria.source
    for record in records:
        kind = criteria.source or _source_of(record)
        source = source or kind
        index = criteria.which(record, source=kind)
        if index is None:
            dropped.append(record)
        else:
            kept.append(record)
            matched.append(index)
    narrowed = {**event, "Records": kept} if kept else None
    disposition = _DISPOSITION[source] if source else "nothing to drop"
    return FilteredBatch(narrowed, kept, dropped, matched, source, disposition)


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str = "filter") -> None:
    """Add the options of ``lambda-kit filter`` to ``parser``."""
    parser.add_argument(
        "--pattern",
        action="append",
        required=True,
        metavar="FILE",
        help="a filter pattern (JSON object), a list of them, or a FilterCriteria document (repeatable)",
    )
    parser.add_argument(
        "events", nargs="+", metavar="EVENT", help="batch events or single records (JSON files)"
    )
    parser.add_argument(
        "--source", choices=SOURCES, help="the event source (default: each record's eventSource)"
    )
    parser.add_argument(
        "--max-filters",
        type=int,
        default=DEFAULT_MAX_FILTERS,
        metavar="N",
        help="the filters quota (default 5)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise FilterPatternError(f"Cannot read {what} {path!r}: {error.strerror}") from None
    try:
        return text, json.loads(text)
    except ValueError as error:
        if what == "pattern":
            return text, None  # refused below, with Lambda's reason
        raise FilterPatternError(f"The {what} {path!r} is not JSON: {error}") from None


def run(args: argparse.Namespace) -> int:
    """Apply the patterns to the events; prints what Lambda would keep and drop."""
    from lambda_kit_dev._cli import strict_json

    patterns: list[str] = []
    for path in args.pattern:
        text, value = _read_json(path, "pattern")
        if isinstance(value, dict) and "Filters" in value:
            patterns += [
                f.get("Pattern", "") if isinstance(f, dict) else json.dumps(f) for f in value["Filters"]
            ]
        elif isinstance(value, list):
            patterns += [v if isinstance(v, str) else json.dumps(v) for v in value]
        else:
            patterns.append(text.strip())
    criteria = FilterCriteria(patterns, source=args.source, max_filters=args.max_filters)
    results: list[dict[str, Any]] = []
    for path in args.events:
        _, event = _read_json(path, "event")
        if not isinstance(event, dict):
            raise FilterPatternError(f"The event {path!r} is not a JSON object.")
        batch = filter_batch(event if "Records" in event else {"Records": [event]}, criteria)
        records = event.get("Records", [event])
        kept = {id(r) for r in batch.kept}
        results.append(
            {
                "file": path,
                "source": batch.source,
                "kept": len(batch.kept),
                "dropped": len(batch.dropped),
                "invoked": batch.invoked,
                "disposition": batch.disposition,
                "records": [{"id": _record_id(r), "kept": id(r) in kept} for r in records],
                "event": batch.event,
            }
        )
    if args.json:
        print(strict_json({"patterns": criteria.patterns, "results": results}))
        return 0
    for result in results:
        print(
            f"{result['file']}: {result['kept']} kept, {result['dropped']} dropped"
            + (f" ({result['disposition']})" if result["dropped"] else "")
            + ("" if result["invoked"] else "; the function is not invoked")
        )
        for record in result["records"]:
            print(f"  {'kept   ' if record['kept'] else 'dropped'} {record['id']}")
    return 0


def _record_id(record: Mapping[str, Any]) -> str:
    for key in ("messageId", "eventID"):
        if isinstance(record.get(key), str):
            return str(record[key])
    inner = record.get("kinesis")
    if isinstance(inner, dict) and isinstance(inner.get("sequenceNumber"), str):
        return str(inner["sequenceNumber"])
    return "(record without an id)"
