"""Outside data in, core-function results out: the type-driven conversions (internal).

An adapter asks :func:`converter_for` once, at INIT, for the converter of a core
function's input type (a request body, a batch record), and :func:`text_parser` for
the parser of a path, query or header value; it calls them per request or record.

Bodies and records (JSON) become:

* pydantic models (``model_validate_json`` straight from text, the fast path;
  ``model_validate`` from structured data); pydantic is never imported here, a model
  is recognised by its methods;
* dataclasses (required fields, ``InitVar`` s included; unknown keys ignored as pydantic
  does; nested dataclasses, ``TypedDict`` s and models converted) and ``TypedDict`` s
  (required keys from the class's own record, inherited ones included, corrected by
  ``Required`` / ``NotRequired`` read from the resolved annotations, which postponed
  annotations hide from the class; ``ReadOnly`` and ``Annotated`` are looked through);
* protobuf messages (JSON through ``google.protobuf.json_format``);
* ``str`` and ``bytes`` (the raw payload), and ``Any`` / no annotation (parsed JSON as
  it is).

Inside those, and at the top level, values are checked and converted by annotation,
strictly by JSON type: ``str``, ``int`` (not ``true``, not ``1.0``), ``float`` (an
integer too; finite), ``bool``, ``list[X]`` / ``tuple[...]`` / ``set[X]`` /
``frozenset[X]`` (from an array), ``dict[K, V]`` (keys read as ``K`` from their text),
``Optional`` / ``Union`` (the first member that accepts the value, in declared order),
``Literal`` and ``Enum`` (see below), ``Decimal`` (a number or a decimal string),
``UUID``, ``date``, ``datetime``, ``time`` (strings, as for URLs), ``bytes`` (base64, as
:func:`dumps` writes them). Any other annotation is passed through unchecked.

Path, query and header values (text) follow what a client sends in a URL: ``int`` is
ASCII digits with an optional sign (no spaces, ``_`` or other scripts' digits, though
Python's ``int()`` takes them); ``float`` and ``Decimal`` add a fraction and an exponent
and must be finite (no ``nan``, ``inf``, ``1e999``); ``bool`` is ``true`` / ``false``,
``1`` / ``0``, ``yes`` / ``no``, ``on`` / ``off`` in any case; ``UUID`` is 32 hex digits,
hyphenated 8-4-4-4-12 or not; ``date`` is ``YYYY-MM-DD``, ``time`` ``HH:MM[:SS[.f]]``
with an optional ``Z`` or ``±HH:MM``, ``datetime`` both joined by ``T`` or a space;
``bytes`` is the text as UTF-8. For ``Optional[X]`` an empty value is ``None`` when
``X`` does not take it.

``Enum`` and ``Literal`` values are matched by value, never by name (names are code,
values are the wire format, what :func:`dumps` writes): a JSON value matches a member
whose value is equal and of the same JSON type (numbers by numeric value, so ``1``
and ``1.0`` are the same; ``true`` is never ``1``); a text value matches a string
member exactly, else a number or boolean member through the rules above (``"2"`` or
``"+2"`` for ``IntEnum`` member 2). A ``Flag`` also takes any combination of its
members as a number; an Enum's own ``_missing_`` is asked last.

Every failure is an :class:`~lambda_kit.exceptions.InputValidationError` whose
``errors`` list (``loc`` / ``msg`` / ``type``) is safe to show a client: it never
repeats the rejected value.
"""

from __future__ import annotations

import enum
import json
import re
from decimal import Decimal
from math import isfinite

from lambda_kit.exceptions import ConfigurationError, InputValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeAlias

    Converter: TypeAlias = Callable[[Any], Any]
    Check: TypeAlias = Callable[[Any], Any]
    Memo: TypeAlias = dict[Any, list[Any]]  # the classes and aliases being built (see _recursive)
    TextParser: TypeAlias = tuple[Callable[[str], Any], str, str]

__all__ = ["converter_for", "dump_data", "dumps", "kind_of", "parse_json", "text_parser", "to_jsonable"]

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
_NO = object()  # "no match" (None, 0 and False are values a match may return)
_NESTED = (
    "The input is nested too deeply.",
    [{"loc": [], "msg": "input is nested too deeply", "type": "recursion_loop"}],
)


def _fail(msg: str, kind: str, loc: tuple[str | int, ...] = ()) -> InputValidationError:
    return InputValidationError(
        f"Invalid input: {msg}.", errors=[{"loc": list(loc), "msg": msg, "type": kind}]
    )


def _invalid(errors: list[dict[str, Any]]) -> InputValidationError:
    return InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors)


def _inside(key: str | int, error: InputValidationError) -> list[dict[str, Any]]:
    """``error``'s field errors as seen from the container that holds the value at ``key``."""
    return [{**item, "loc": [key, *item["loc"]]} for item in error.context["errors"]]


def kind_of(tp: Any) -> str:
    """Classify a type: pydantic, dataclass, typeddict, protobuf, str, bytes or any."""
    if tp is str:
        return "str"
    if tp is bytes:
        return "bytes"
    if isinstance(tp, type):
        if hasattr(tp, "model_validate_json") and hasattr(tp, "model_dump"):
            return "pydantic"
        if hasattr(tp, "__dataclass_fields__"):
            return "dataclass"
        if issubclass(tp, dict) and hasattr(tp, "__required_keys__"):
            return "typeddict"
        if hasattr(tp, "DESCRIPTOR") and hasattr(tp, "ParseFromString"):
            return "protobuf"
    return "any"


class _NotJSON(ValueError):
    """``NaN`` / ``Infinity`` met while parsing (Python's json reads them; JSON has no such thing)."""


def _reject_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not a JSON value")


def parse_json(data: str | bytes) -> Any:
    """Parse JSON from outside; any failure is an :class:`InputValidationError` (a 400) saying why.

    Stricter than ``json.loads``: ``NaN`` and ``Infinity`` are refused (they are not
    JSON, and would be echoed back as invalid JSON), and nesting deep enough to
    exhaust the recursion limit is refused rather than crashing. The message never
    quotes the body.
    """
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise _fail("body is nested too deeply", "json_invalid") from None
    except UnicodeDecodeError:  # bytes that are not UTF-8 (nor UTF-16/32 with a BOM)
        raise _fail("body is not valid JSON (not UTF-8)", "json_invalid") from None
    except json.JSONDecodeError as error:  # its msg names what was expected, never the text
        raise _fail(f"body is not valid JSON ({error.msg})", "json_invalid") from None
    except _NotJSON as error:
        raise _fail(f"body is not valid JSON ({error})", "json_invalid") from None
    except ValueError:  # int() of a number longer than the interpreter's digit limit (4,300)
        raise _fail("body is not valid JSON (a number has too many digits)", "json_invalid") from None


_parse_json = parse_json


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for tp, name in _SIMPLE.items():
        if type(value) is tp:
            return name
    return type(value).__name__


def _qualified(tp: Any) -> str:
    """``module.Name`` of a class (``decimal.Decimal``): compared without importing the module."""
    return f"{getattr(tp, '__module__', '')}.{getattr(tp, '__name__', '')}"


def _unwrap(tp: Any) -> Any:
    """``tp`` without the ``Annotated``, ``NewType`` and ``type`` aliases around it (what runs)."""
    import typing

    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = tp.__origin__
        elif callable(tp) and hasattr(tp, "__supertype__"):  # NewType
            tp = tp.__supertype__
        elif type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):  # 3.12 `type X = ...`
            tp = tp.__value__
        else:
            return tp


# -- text: path, query and header values ---------------------------------------------------

_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
# Numbers as a client writes them in a URL: ASCII digits only ([0-9] is not \d).
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_UUID = r"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}"
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
# A Decimal's digits and exponent stay within what int() reads from text, so that a
# core's int(value) or quantize() cannot be made to run for minutes.
_DECIMAL_LIMIT = 4300


def _int_text() -> Callable[[str], int]:
    def parse_int(text: str) -> int:
        if text.isdigit() and text.isascii():  # the common case, without a slice
            return int(text)  # ValueError beyond the interpreter's digit limit
        digits = text[1:] if text[:1] in ("+", "-") else text
        if not (digits.isascii() and digits.isdigit()):  # isdigit() alone takes other scripts' digits
            raise ValueError("not an integer")
        return int(text)  # ValueError beyond the interpreter's digit limit

    return parse_int


def _float_text() -> Callable[[str], float]:
    match = re.compile(_NUMBER).fullmatch

    def parse_float(text: str) -> float:
        if match(text) is None:
            raise ValueError("not a number")
        value = float(text)
        if not isfinite(value):  # 1e999
            raise ValueError("not a finite number")
        return value

    return parse_float


def _parse_bool(text: str) -> bool:
    value = _WORDS.get(text.lower())
    if value is None:
        raise ValueError("not a boolean")
    return value


def _decimal_text() -> Callable[[str], Any]:
    match = re.compile(_NUMBER).fullmatch

    def parse_decimal(text: str) -> Any:
        if match(text) is None:
            raise ValueError("not a decimal number")
        try:
            value = Decimal(text)
        except ArithmeticError:  # InvalidOperation: an exponent beyond what decimal holds
            raise ValueError("decimal number out of range") from None
        return _bounded_decimal(value)

    return parse_decimal


def _bounded_decimal(value: Any) -> Any:
    if not value.is_finite():
        raise ValueError("not a finite decimal number")
    if len(value.as_tuple().digits) > _DECIMAL_LIMIT or abs(value.adjusted()) > _DECIMAL_LIMIT:
        raise ValueError("decimal number out of range")
    return value


def _uuid_text() -> Callable[[str], Any]:
    from uuid import UUID

    match = re.compile(_UUID).fullmatch

    def parse_uuid(text: str) -> Any:
        # uuid.UUID() alone takes braces, "urn:uuid:", a sign, "_" and other scripts' digits
        if match(text) is None:
            raise ValueError("not a UUID")
        return UUID(text)

    return parse_uuid


def _zone(groups: tuple[str | None, ...]) -> Any:
    """The tzinfo of a time's ``Z`` / sign / hours / minutes groups (``None`` for a naive time)."""
    from datetime import timedelta, timezone

    utc, sign, hours, minutes = groups
    if utc:
        return timezone.utc
    if sign is None:
        return None
    if int(minutes or 0) > 59:
        raise ValueError("invalid UTC offset")
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return timezone(-offset if sign == "-" else offset)  # ValueError from 24 hours on


def _clock(groups: tuple[str | None, ...]) -> tuple[int, int, int, int, Any]:
    hour, minute, second, fraction = groups[:4]
    micro = int((fraction or "")[:6].ljust(6, "0"))
    return int(hour or 0), int(minute or 0), int(second or 0), micro, _zone(groups[4:])


def _date_text() -> Callable[[str], Any]:
    from datetime import date

    match = re.compile(_DATE).fullmatch

    def parse_date(text: str) -> Any:
        found = match(text)
        if found is None:
            raise ValueError("not a date")
        year, month, day = found.groups()
        return date(int(year), int(month), int(day))  # ValueError for 2026-02-30

    return parse_date


def _time_text() -> Callable[[str], Any]:
    from datetime import time

    match = re.compile(_TIME).fullmatch

    def parse_time(text: str) -> Any:
        found = match(text)
        if found is None:
            raise ValueError("not a time")
        hour, minute, second, micro, zone = _clock(found.groups())
        return time(hour, minute, second, micro, zone)

    return parse_time


def _datetime_text() -> Callable[[str], Any]:
    from datetime import datetime

    match = re.compile(f"{_DATE}[Tt ]{_TIME}").fullmatch

    def parse_datetime(text: str) -> Any:
        found = match(text)
        if found is None:
            raise ValueError("not a date and time")
        groups = found.groups()
        hour, minute, second, micro, zone = _clock(groups[3:])
        return datetime(int(groups[0]), int(groups[1]), int(groups[2]), hour, minute, second, micro, zone)

    return parse_datetime


def _bytes_text(text: str) -> bytes:
    return text.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate


def _text_for_class(tp: type) -> TextParser | None:
    if issubclass(tp, enum.Enum):
        _, from_text, expected = _enum_choices(tp)
        return from_text, expected, "enum"
    name = _qualified(tp)
    if name == "decimal.Decimal":
        return _decimal_text(), "decimal number", "decimal_parsing"
    if name == "uuid.UUID":
        return _uuid_text(), "UUID", "uuid_parsing"
    if name == "datetime.datetime":
        return _datetime_text(), "date and time (ISO 8601)", "datetime_parsing"
    if name == "datetime.date":
        return _date_text(), "date (YYYY-MM-DD)", "date_parsing"
    if name == "datetime.time":
        return _time_text(), "time (HH:MM[:SS])", "time_parsing"
    return None


def _text(tp: Any) -> TextParser | None:
    """How text becomes ``tp``, as ``(parse, expected, error type)``; ``None`` when it cannot.

    ``parse`` raises ``ValueError`` (never the rejected text in its message) for text
    that is not a ``tp``.
    """
    import typing

    tp = _unwrap(tp)
    if tp is typing.Any or tp is None or tp is str or tp is object:
        return str, "string", "string_type"
    if tp is int:
        return _int_text(), "integer", "integer_parsing"
    if tp is float:
        return _float_text(), "number", "number_parsing"
    if tp is bool:
        return _parse_bool, "boolean", "boolean_parsing"
    if tp is bytes:
        return _bytes_text, "UTF-8 text", "bytes_parsing"
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        _, from_text, expected = _literal_choices(tp)
        return from_text, expected, "literal_error"
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return _union_text(typing.get_args(tp))
    if isinstance(tp, type):
        return _text_for_class(tp)
    return None


def _union_text(args: tuple[Any, ...]) -> TextParser | None:
    members = [member for member in args if member is not type(None)]
    optional = len(members) < len(args)
    parsers = [_text(member) for member in members]
    if not parsers or any(parser is None for parser in parsers):
        return None
    known = [parser for parser in parsers if parser is not None]
    expected = " or ".join(dict.fromkeys(parser[1] for parser in known))
    error_type = known[0][2] if len(known) == 1 else "union_parsing"  # one member: Optional[X]
    parses = [parser[0] for parser in known]

    def parse_union(text: str) -> Any:
        for parse in parses:  # in declared order: the first member that takes the text wins
            try:
                return parse(text)
            except ValueError:
                continue
        if optional and not text:  # ?limit= for Optional[int]: no value
            return None
        raise ValueError("matches no member")

    return parse_union, f"{expected} (or empty)" if optional else expected, error_type


def text_parser(tp: Any, where: str = "the value") -> TextParser:
    """How a path, query or header value becomes ``tp``: ``(parse, expected, error type)``.

    ``parse(text)`` returns the value or raises ``ValueError`` (its message never holds
    the text); ``expected`` names what was wanted for a 400 (``"integer"``, ``"one of:
    1, 2"``), and the error type goes in the 400's ``errors`` (``"integer_parsing"``).
    ``parse`` is :class:`str` itself for ``str``, ``Any`` and no annotation.

    Raises:
        ConfigurationError: ``tp`` cannot be read from text (at INIT, naming ``where``).

    Example:
        >>> parse, expected, kind = text_parser(int)
        >>> parse("+7"), expected, kind
        (7, 'integer', 'integer_parsing')
    """
    parser = _text(tp)
    if parser is None:
        raise ConfigurationError(
            f"Cannot read {where} as {tp!r}; annotate it as str, int, float, bool, Decimal, UUID, date, "
            "datetime, time, bytes, an Enum or a Literal, or Optional of one (or a list of one for a "
            "query value).",
            setting="core",
        )
    return parser


# -- Enum and Literal: matched by value ----------------------------------------------------


def _wire_key(value: Any, depth: int = 0) -> tuple[Any, ...] | None:
    """The value's identity in JSON terms: kind and value (``None`` for what JSON cannot hold)."""
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", value)  # 1 and 1.0 are one key: equal, with equal hashes
    if value is None:
        return ("null", None)
    if isinstance(value, (list, tuple)) and depth < 16:
        keys = tuple(_wire_key(item, depth + 1) for item in value)
        return None if None in keys else ("array", keys)
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return type(value).__name__


def _choices(
    pairs: list[tuple[Any, Any]],
    *,
    flag: tuple[Callable[[int], Any], int] | None = None,
    missing: Callable[[Any], Any] | None = None,
) -> tuple[Callable[[Any], Any], Callable[[str], Any], str]:
    """``(from_json, from_text, expected)`` matching values against ``(wire value, result)`` pairs.

    ``from_json`` returns the result or ``_NO``; ``from_text`` returns the result or
    raises ``ValueError``. ``flag`` is ``(make, mask)``: a number whose bits are all
    in ``mask`` is ``make(number)``. ``missing`` is tried last (an Enum's ``_missing_``).
    """
    by_key: dict[tuple[Any, ...], Any] = {}
    for wire, result in pairs:
        key = _wire_key(wire)
        if key is not None:
            by_key.setdefault(key, result)
    kinds = {key[0] for key in by_key}
    numbers = "number" in kinds or flag is not None
    booleans = "boolean" in kinds
    shown = list(dict.fromkeys(_shown(wire) for wire, _ in pairs))
    expected = "one of: " + ", ".join(shown[:20]) + (", ..." if len(shown) > 20 else "")
    if flag is not None:
        expected += " (or a sum of them)"
    parse_int, parse_float = _int_text(), _float_text()

    def by_number(number: Any) -> Any:
        result = by_key.get(("number", number), _NO)
        if result is _NO and flag is not None and type(number) is float and number.is_integer():
            number = int(number)  # 5.0 is 5 here as 1.0 is 1 for a member
        if result is _NO and flag is not None and type(number) is int and number >= 0:
            make, mask = flag
            if not number & ~mask:
                try:
                    result = make(number)
                except ValueError:  # a Flag whose own _missing_ refuses combinations
                    pass
        return result

    def ask_missing(raw: Any) -> Any:
        if missing is None:
            return _NO
        try:
            result = missing(raw)
        except Exception:  # the user's lookup refusing the value, in whatever way it does
            return _NO
        return _NO if result is None else result

    def from_json(value: Any) -> Any:
        key = _wire_key(value)
        result = _NO if key is None else by_key.get(key, _NO)
        if result is _NO and key is not None and key[0] == "number":
            result = by_number(value)
        return ask_missing(value) if result is _NO else result

    def from_text(text: str) -> Any:
        result = by_key.get(("string", text), _NO)
        if result is _NO and numbers:
            number: Any = None
            for parse in (parse_int, parse_float):
                try:
                    number = parse(text)
                    break
                except ValueError:
                    continue
            if number is not None:
                result = by_number(number)
        if result is _NO and booleans:
            truth = _WORDS.get(text.lower())
            if truth is not None:
                result = by_key.get(("boolean", truth), _NO)
        if result is _NO:
            result = ask_missing(text)
        if result is _NO:
            raise ValueError("not one of the allowed values")
        return result

    return from_json, from_text, expected


def _enum_choices(tp: Any) -> tuple[Callable[[Any], Any], Callable[[str], Any], str]:
    members = list(tp.__members__.values())  # aliases and named Flag combinations too
    flag = None
    if issubclass(tp, enum.Flag):  # a Flag's values are ints (the class is refused otherwise)
        mask = 0
        for member in members:
            mask |= member.value
        flag = (tp, mask)
    owner = next(cls for cls in tp.__mro__ if "_missing_" in vars(cls))
    user_missing = owner.__module__ != "enum"  # enum's own: Flag's composites, handled above

    def missing(raw: Any) -> Any:
        result = tp._missing_(raw)
        return result if isinstance(result, tp) else None

    return _choices(
        [(member.value, member) for member in members], flag=flag, missing=missing if user_missing else None
    )


def _literal_choices(tp: Any) -> tuple[Callable[[Any], Any], Callable[[str], Any], str]:
    import typing

    values = typing.get_args(tp)
    return _choices([(value.value if isinstance(value, enum.Enum) else value, value) for value in values])


# -- JSON values: checked and converted by annotation --------------------------------------


def _hints(tp: Any, *, extras: bool = False) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(tp, include_extras=extras)
    except Exception:  # unresolvable forward references: check nothing rather than fail
        return _hints_one_by_one(tp)


def _hints_one_by_one(tp: Any) -> dict[str, Any]:
    """The annotations of class ``tp`` evaluated as written, or ``{}`` when one does not resolve.

    What ``get_type_hints`` refuses although every name resolves: on Python 3.10 it rejects
    ``InitVar[int]`` (not callable, so "not a type"), which postponed annotations then hide
    from a dataclass; 3.11 accepts it. ``Annotated`` stays (the checks look through it).
    """
    import inspect
    import sys

    hints: dict[str, Any] = {}
    for base in reversed(getattr(tp, "__mro__", ())):
        module = sys.modules.get(base.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        for name, value in inspect.get_annotations(base).items():
            if isinstance(value, str):
                try:
                    # get_type_hints evaluates the same text with the same namespaces.
                    value = eval(value, namespace, dict(vars(base)))  # noqa: S307
                except Exception:
                    return {}
            hints[name] = value
    return hints


def _checker(tp: Any, memo: Memo) -> Check | None:
    """The check (and conversion) of a JSON value for annotation ``tp``; ``None`` when anything goes.

    A check returns the value as the core should see it, or raises
    :class:`InputValidationError` with ``loc`` relative to the value. ``memo`` holds the
    classes being built, so that a recursive dataclass refers to its own check.
    """
    import typing

    if type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
        return _recursive(tp, memo, lambda: _checker(tp.__value__, memo))
    tp = _unwrap(tp)
    if tp is float:
        return _float_check()
    if tp is int:

        def check_int(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _fail(f"expected an integer, got {_type_name(value)}", "int_type")
            return value

        return check_int
    if tp in _SIMPLE:
        expected = _SIMPLE[tp]

        def check(value: Any) -> Any:
            if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
                raise _fail(f"expected {expected}, got {_type_name(value)}", f"{expected}_type")
            return value

        return check
    if tp is bytes:
        return _bytes_check()
    if tp in (tuple, set, frozenset):
        return _sequence_check(tp, [None], variadic=True)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, set, frozenset):
        return _sequence_check(origin, [_checker(args[0], memo) if args else None], variadic=True)
    if origin is tuple:
        variadic = len(args) == 2 and args[1] is Ellipsis
        items = [_checker(arg, memo) for arg in (args[:1] if variadic else args)]
        return _sequence_check(tuple, items or [None], variadic=variadic or not args)
    if origin is dict:
        return _dict_check(args, memo)
    if origin is typing.Literal:
        from_json, _, expected = _literal_choices(tp)
        return _choice_check(from_json, expected, "literal_error")
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return _union_check(args, memo)
    if not isinstance(tp, type):
        return None
    if issubclass(tp, enum.Enum):
        from_json, _, expected = _enum_choices(tp)
        return _choice_check(from_json, expected, "enum")
    if _qualified(tp) == "decimal.Decimal":
        return _decimal_check(tp)
    parser = _text_for_class(tp)
    if parser is not None:  # UUID, date, datetime, time: from their text
        return _text_check(tp, parser)
    kind = kind_of(tp)
    if kind == "dataclass":
        return _recursive(tp, memo, lambda: _dataclass_check(tp, memo))
    if kind == "typeddict":
        return _recursive(tp, memo, lambda: _typeddict_check(tp, memo))
    if kind == "pydantic":
        return _pydantic_converter(tp, from_text=False)
    return None


def _recursive(tp: Any, memo: Memo, build: Callable[[], Check | None]) -> Check | None:
    """``build()``, once per ``tp``; a reference to ``tp`` from inside itself calls the finished check."""
    known = memo.get(tp)  # [the check references call, the built check or None, whether built]
    if known is not None:
        return known[1] if known[2] else lambda value: known[0](value)
    cell: list[Any] = [None, None, False]
    memo[tp] = cell
    built = build()
    cell[:] = [built or _none_or(None), built, True]
    return built


def _float_check() -> Check:
    def check_float(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, Decimal) and value.is_finite():
                return value
            raise _fail(f"expected a number, got {_type_name(value)}", "float_type")
        if not isfinite(value):  # 1e400 in JSON parses as infinity
            raise _fail("expected a finite number", "finite_number")
        return value

    return check_float


def _bytes_check() -> Check:
    import binascii
    from base64 import b64decode

    def check_bytes(value: Any) -> Any:
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            raise _fail(f"expected base64 text, got {_type_name(value)}", "bytes_type")
        try:
            return b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _fail("expected base64 text", "bytes_parsing") from None

    return check_bytes


def _sequence_check(make: Any, items: list[Check | None], *, variadic: bool) -> Check:
    """An array as ``make`` (list, tuple, set, frozenset), item by item; fixed-size when not ``variadic``."""
    item = items[0]
    unchecked = all(check is None for check in items)

    def check_sequence(value: Any) -> Any:
        if not isinstance(value, list) and not (
            isinstance(value, (tuple, set, frozenset)) and make is not list
        ):
            raise _fail(f"expected array, got {_type_name(value)}", "array_type")
        if not variadic and len(value) != len(items):
            raise _fail(f"expected an array of {len(items)} items, got {len(value)}", "array_length")
        if unchecked:
            converted = value
        else:
            converted, errors = [], []
            for index, element in enumerate(value):
                check = item if variadic else items[index]
                try:
                    converted.append(element if check is None else check(element))
                except InputValidationError as error:
                    errors.extend(_inside(index, error))
            if errors:
                raise _invalid(errors)
        if make is list and type(converted) is list:
            return converted
        try:
            return make(converted)
        except TypeError:  # a set of arrays or objects
            raise _fail("expected an array of hashable items", "set_item_unhashable") from None

    return check_sequence


def _dict_check(args: tuple[Any, ...], memo: Memo) -> Check:
    import typing

    value_check = _checker(args[1], memo) if len(args) == 2 else None
    key_type = _unwrap(args[0]) if args else str
    key_parser = None if key_type in (str, typing.Any) else _text(key_type)
    parse_key = None if key_parser is None else key_parser[0]

    def check_dict(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _fail(f"expected object, got {_type_name(value)}", "object_type")
        if value_check is None and parse_key is None:
            return value
        converted, errors = {}, []
        for key, element in value.items():
            new_key = key
            if parse_key is not None and isinstance(key, str):
                try:
                    new_key = parse_key(key)
                except ValueError:
                    assert key_parser is not None  # noqa: S101 - set with parse_key
                    errors.append(
                        {"loc": [key], "msg": f"key: expected {key_parser[1]}", "type": key_parser[2]}
                    )
                    continue
            try:
                converted[new_key] = element if value_check is None else value_check(element)
            except InputValidationError as error:
                errors.extend(_inside(key, error))
        if errors:
            raise _invalid(errors)
        return converted

    return check_dict


def _choice_check(from_json: Callable[[Any], Any], expected: str, kind: str) -> Check:
    def check_choice(value: Any) -> Any:
        result = from_json(value)
        if result is _NO:
            raise _fail(f"expected {expected}", kind)
        return result

    return check_choice


def _union_check(args: tuple[Any, ...], memo: Memo) -> Check | None:
    members = [member for member in args if member is not type(None)]
    optional = len(members) < len(args)
    checks = [_checker(member, memo) for member in members]
    if any(check is None for check in checks):
        return None if not optional or len(members) > 1 else _none_or(None)
    if len(checks) == 1:
        return _none_or(checks[0]) if optional else checks[0]

    def check_union(value: Any) -> Any:
        if value is None and optional:
            return None
        for member_check in checks:  # in declared order: the first member that takes the value wins
            try:
                return member_check(value)  # type: ignore[misc]  # None filtered above
            except InputValidationError:
                continue
        raise _fail(f"matches none of the allowed types, got {_type_name(value)}", "union_type")

    return check_union


def _none_or(check: Check | None) -> Check:
    def check_optional(value: Any) -> Any:
        if value is None or check is None:
            return value
        return check(value)

    return check_optional


def _decimal_check(tp: Any) -> Check:
    parse = _decimal_text()

    def check_decimal(value: Any) -> Any:
        try:
            if isinstance(value, tp):
                return _bounded_decimal(value)
            if isinstance(value, str):
                return parse(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return parse(repr(value))  # a JSON number: as written, to float's precision
        except ValueError:
            raise _fail("expected a finite decimal number", "decimal_parsing") from None
        raise _fail(f"expected a decimal number, got {_type_name(value)}", "decimal_type")

    return check_decimal


def _text_check(tp: Any, parser: TextParser) -> Check:
    parse, expected, error_type = parser
    type_error = error_type.replace("_parsing", "_type")

    def check_text(value: Any) -> Any:
        if isinstance(value, tp):
            return value
        if not isinstance(value, str):
            raise _fail(f"expected a {expected}, got {_type_name(value)}", type_error)
        try:
            return parse(value)
        except ValueError:
            raise _fail(f"expected a {expected}", error_type) from None

    return check_text


def _dataclass_check(tp: Any, memo: Memo) -> Check:
    import dataclasses

    hints = _hints(tp)
    declared = getattr(tp, "__dataclass_fields__", {})
    fields = []
    for field in dataclasses.fields(tp):
        if field.init:
            required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            fields.append((field.name, required, _checker(hints.get(field.name), memo)))
    for name, hint in hints.items():  # InitVar: an __init__ argument that fields() leaves out
        if isinstance(hint, dataclasses.InitVar) and name in declared:
            required = declared[name].default is dataclasses.MISSING
            fields.append((name, required, _checker(hint.type, memo)))

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail(f"expected an object, got {_type_name(data)}", "model_type")
        errors: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        for name, required, check in fields:
            if name not in data:
                if required:
                    errors.append({"loc": [name], "msg": "field required", "type": "missing"})
                continue
            value = data[name]
            if check is not None:
                try:
                    value = check(value)
                except InputValidationError as error:
                    errors.extend(_inside(name, error))
                    continue
            kwargs[name] = value
        if errors:
            raise _invalid(errors)
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as error:  # __post_init__ validation of the user's own
            raise _fail(f"rejected by {tp.__name__}: {type(error).__name__}", "value_error") from None

    return convert


def _qualifiers() -> dict[Any, str]:
    """The TypedDict key qualifiers of ``typing`` and (when loaded) ``typing_extensions``."""
    import sys
    import typing

    found: dict[Any, str] = {}
    for module in (typing, sys.modules.get("typing_extensions")):
        for name in ("Annotated", "Required", "NotRequired", "ReadOnly"):
            marker = getattr(module, name, None)
            if marker is not None:
                found.setdefault(marker, name)
    return found


def _typeddict_check(tp: Any, memo: Memo) -> Check:
    import typing

    # The class's own record knows inherited keys and each base's totality, but not
    # Required / NotRequired written as postponed (string) annotations: the resolved
    # hints do, and an explicit qualifier there overrides the record.
    required_names = set(getattr(tp, "__required_keys__", ()))
    qualifiers = _qualifiers()
    checks: dict[str, Check] = {}
    for name, hint in _hints(tp, extras=True).items():
        while True:
            qualifier = qualifiers.get(typing.get_origin(hint))
            if qualifier is None:
                break
            if qualifier == "Required":
                required_names.add(name)
            elif qualifier == "NotRequired":
                required_names.discard(name)
            hint = typing.get_args(hint)[0]
        check = _checker(hint, memo)
        if check is not None:
            checks[name] = check
    required = sorted(required_names)

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail(f"expected an object, got {_type_name(data)}", "model_type")
        errors = [
            {"loc": [name], "msg": "field required", "type": "missing"}
            for name in required
            if name not in data
        ]
        converted = data
        for name, check in checks.items():
            if name in data:
                value = data[name]
                try:
                    new = check(value)
                except InputValidationError as error:
                    errors.extend(_inside(name, error))
                    continue
                if new is not value:
                    if converted is data:
                        converted = dict(data)
                    converted[name] = new
        if errors:
            raise _invalid(errors)
        return converted

    return convert


def _pydantic_errors(error: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": str(item.get("type", ""))}
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def _pydantic_converter(tp: Any, *, from_text: bool = True) -> Callable[[Any], Any]:
    # The schema validator behind model_validate_json / model_validate (pydantic v2):
    # calling it directly saves the wrappers' frames on every request.
    validator = getattr(tp, "__pydantic_validator__", None)
    if validator is not None and hasattr(validator, "validate_json"):
        validate_json = validator.validate_json
        validate = validator.validate_python
    else:  # a model-like class without pydantic's internals
        validate_json = tp.model_validate_json
        validate = tp.model_validate
    text_types = (str, bytes, bytearray) if from_text else ()  # a field's string is not JSON text

    def convert(data: Any) -> Any:
        try:
            if isinstance(data, text_types):
                return validate_json(data)
            return validate(data)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            if hasattr(error, "errors"):
                raise _invalid(_pydantic_errors(error)) from None
            raise _fail("not valid for the model", "value_error") from None

    return convert


def _protobuf_converter(tp: Any) -> Callable[[Any], Any]:
    def convert(data: Any) -> Any:
        from google.protobuf import json_format

        if isinstance(data, (str, bytes, bytearray)):
            data = _parse_json(bytes(data) if isinstance(data, bytearray) else data)
        if not isinstance(data, dict):
            raise _fail(f"expected an object, got {_type_name(data)}", "model_type")
        try:
            return json_format.ParseDict(data, tp())
        except (json_format.ParseError, RecursionError):
            # protobuf's own message can quote the rejected value: say only which message
            raise _fail(f"does not match {tp.DESCRIPTOR.full_name}", "protobuf_invalid") from None

    return convert


def converter_for(tp: Any) -> Converter:
    """The converter from a raw payload (text, bytes or parsed JSON) to ``tp``.

    Text and bytes are parsed as JSON unless ``tp`` is ``str`` or ``bytes``.
    """
    kind = kind_of(tp)
    if kind == "pydantic":
        return _pydantic_converter(tp)
    if kind == "protobuf":
        return _protobuf_converter(tp)
    if kind == "str":

        def to_str(data: Any) -> str:
            if isinstance(data, str):
                return data
            if isinstance(data, (bytes, bytearray)):
                try:
                    return bytes(data).decode("utf-8")
                except UnicodeDecodeError:
                    raise _fail("body is not UTF-8 text", "string_unicode") from None
            return json.dumps(data, separators=(",", ":"))

        return to_str
    if kind == "bytes":

        def to_bytes(data: Any) -> bytes:
            if isinstance(data, (bytes, bytearray)):
                return bytes(data)
            if isinstance(data, str):
                return data.encode("utf-8")
            return json.dumps(data, separators=(",", ":")).encode("utf-8")

        return to_bytes
    structured = _checker(tp, {})

    def convert(data: Any) -> Any:
        if isinstance(data, (str, bytes, bytearray)):
            data = _parse_json(bytes(data) if isinstance(data, bytearray) else data)
        if structured is None:
            return data
        try:
            return structured(data)
        except RecursionError:  # a recursive type fed JSON nested to the interpreter's limit
            raise InputValidationError(_NESTED[0], errors=_NESTED[1]) from None

    return convert


def to_jsonable(value: Any) -> Any:
    """A core function's result as JSON-ready data (models, dataclasses, messages unwrapped)."""
    if hasattr(value, "model_dump") and hasattr(value, "model_validate_json"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        import dataclasses

        return dataclasses.asdict(value)
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "SerializeToString"):
        from google.protobuf import json_format

        return json_format.MessageToDict(value)
    return value


def _default(value: Any) -> Any:
    import sys

    if isinstance(value, Decimal):
        if not value.is_finite():  # NaN, sNaN, Infinity: null, as for floats
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, enum.Enum):  # its value: what a request sends back for it
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")
    uuid = sys.modules.get("uuid")  # a UUID exists only once its module is loaded
    if uuid is not None and isinstance(value, uuid.UUID):
        return str(value)
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    if not isinstance(value, type) and (
        hasattr(value, "__dataclass_fields__") or hasattr(value, "model_dump")
    ):  # a dataclass or pydantic model inside a dict or list
        return to_jsonable(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value: Any) -> str:
    """Compact JSON text of a core function's result; always valid JSON, always sendable as UTF-8.

    Two things Python's ``json`` would write and Lambda could not send are avoided:

    * ``NaN`` and infinities (``allow_nan`` writes a bare ``NaN``, which is not JSON)
      are written as ``null``: what pydantic models and JavaScript's ``JSON.stringify``
      do. A result that is all finite pays nothing for this.
    * A lone surrogate (a client's ``"\\ud800"`` echoed back) is written as that
      ``\\u`` escape: valid JSON, and the same text the client sent. Kept raw, it makes
      awslambdaric fail to encode the response as UTF-8 and, on Python 3.12+, exit.
    """
    kind = type(value)
    if kind is dict or kind is list:  # the common result: no model to unwrap, no hasattr probes
        return dump_data(value)
    serializer = getattr(kind, "__pydantic_serializer__", None)
    if serializer is not None and hasattr(value, "model_dump_json"):
        try:  # model_dump_json's own fast path, without its wrapper frame
            text: str = serializer.to_json(value).decode()
            return text
        except TypeError:  # an unexpected pydantic internals signature: the public API
            try:
                text = value.model_dump_json()
                return text
            except ValueError:
                return dump_data(value.model_dump(mode="json"))
        except ValueError:  # PydanticSerializationError: a lone surrogate cannot be UTF-8
            return dump_data(value.model_dump(mode="json"))
    if hasattr(value, "model_dump_json") and hasattr(value, "model_validate_json"):
        try:
            text = value.model_dump_json()
            return text
        except ValueError:
            return dump_data(value.model_dump(mode="json"))
    return dump_data(to_jsonable(value))


# Made once: json.dumps with any option builds a new JSONEncoder per call (~0.5 us); an
# encoder keeps no state between encode() calls.
_encode = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
).encode
_encode_ascii = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_default).encode


def _c_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder ``_encode`` makes per call, made once and without the circular-reference check.

    ``JSONEncoder.encode`` builds a new C encoder with a fresh ``markers`` dict on every
    call (~0.6 us of a small result's ~1.2 us); the encoder keeps no state but ``markers``,
    and without it (``None``) it is safe to share between threads. What ``markers`` would
    catch, a circular reference, then ends in a ``RecursionError``, and :func:`dump_data`
    hands the value to ``_encode`` for the error it always gave. ``None`` where the C
    accelerator is missing.
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython ships the accelerator
        return None
    # The arguments JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False,
    # default=_default).iterencode passes: markers, default, string encoder, indent,
    # key separator, item separator, sort_keys, skipkeys, allow_nan.
    made: Callable[[Any, int], Any] = make(
        None, _default, encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return made


_c_encode = _c_encoder()


def dump_data(data: Any) -> str:
    """:func:`dumps` of data that needs no unwrapping (a plain dict or list, say): one call less."""
    if _c_encode is not None:
        try:
            text: str = "".join(_c_encode(data, 0))
        except (ValueError, RecursionError):  # NaN, a circular reference: the general steps
            return _dump_data_general(data)
        if text.isascii() or _SURROGATE.search(text) is None:
            return text
        ascii_text: str = _encode_ascii(data)
        return ascii_text
    return _dump_data_general(data)  # pragma: no cover - CPython ships the accelerator


def _dump_data_general(data: Any) -> str:
    try:
        text: str = _encode(data)
    except ValueError as error:
        if "Out of range float" not in str(error):  # a circular reference: not ours to mend
            raise
        data = _finite(data)
        text = _encode(data)
    if text.isascii() or _SURROGATE.search(text) is None:  # isascii() is O(1) in CPython
        return text
    ascii_text: str = _encode_ascii(data)
    return ascii_text


def _finite(data: Any, depth: int = 0) -> Any:
    """``data`` with every non-finite float as ``None`` (containers copied, the rest as it is)."""
    if depth > 1000:  # deeper than json.dumps itself can go: leave it to raise
        return data
    if isinstance(data, float):
        return data if data - data == 0.0 else None  # inf - inf and nan - nan are nan
    if isinstance(data, dict):
        return {_finite_key(key): _finite(item, depth + 1) for key, item in data.items()}
    if isinstance(data, (list, tuple, set, frozenset)):
        return [_finite(item, depth + 1) for item in data]
    if data is None or isinstance(data, (str, int)):
        return data
    try:
        converted = _default(data)  # what json.dumps would ask for it, with its floats checked
    except TypeError:
        return data
    return _finite(converted, depth + 1)


def _finite_key(key: Any) -> Any:
    if isinstance(key, float) and key - key != 0.0:  # as JavaScript names them
        return "NaN" if key != key else ("Infinity" if key > 0 else "-Infinity")
    return key
