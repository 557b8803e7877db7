"""Outside data in, core-function results out: the type-driven conversions (internal).

An adapter asks :func:`converter_for` once, at INIT, for the converter of a core
function's input type, and calls it per request or record. Supported input types:

* pydantic models (``model_validate_json`` straight from text, the fast path;
  ``model_validate`` from structured data); pydantic is never imported here, a model
  is recognised by its methods;
* dataclasses (required fields, unknown keys ignored as pydantic does, simple type
  checks of ``str`` / ``int`` / ``float`` / ``bool`` / ``list`` / ``dict`` fields,
  nested dataclasses);
* ``TypedDict`` (required keys and the same simple checks);
* protobuf messages (JSON through ``google.protobuf.json_format``);
* ``str`` and ``bytes`` (the raw payload), and ``dict`` / ``Any`` / no annotation
  (parsed JSON as it is).

Every failure is an :class:`~lambda_kit.exceptions.InputValidationError` whose
``errors`` list (``loc`` / ``msg`` / ``type``) is safe to show a client: it never
repeats the rejected value.
"""

from __future__ import annotations

import json

from lambda_kit.exceptions import InputValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeAlias

    Converter: TypeAlias = Callable[[Any], Any]

__all__ = ["converter_for", "dumps", "kind_of", "to_jsonable"]

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def _fail(msg: str, kind: str, loc: tuple[str | int, ...] = ()) -> InputValidationError:
    return InputValidationError(
        f"Invalid input: {msg}.", errors=[{"loc": list(loc), "msg": msg, "type": kind}]
    )


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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: str | bytes) -> Any:
    """Parse JSON from outside; any failure is an :class:`InputValidationError` (a 400).

    Stricter than ``json.loads``: ``NaN`` and ``Infinity`` are refused (they are not
    JSON, and would be echoed back as invalid JSON), and nesting deep enough to
    exhaust the recursion limit is refused rather than crashing.
    """
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise _fail("body is nested too deeply", "json_invalid") from None
    except (ValueError, UnicodeDecodeError) as error:
        detail = getattr(error, "msg", None) or "not UTF-8"
        raise _fail(f"body is not valid JSON ({detail})", "json_invalid") from None


_parse_json = parse_json


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for tp, name in _SIMPLE.items():
        if type(value) is tp:
            return name
    return type(value).__name__


def _simple_checker(tp: Any, loc: tuple[str | int, ...]) -> Callable[[Any], Any] | None:
    """A check (and conversion) for a field's annotation, or None when anything goes.

    Simple types are checked; dataclasses are converted; ``list[X]`` and ``dict[str, X]``
    check every item, ``Optional[X]`` allows ``None``, and a ``Union`` accepts what
    one of its members accepts.
    """
    import typing

    if tp is float:

        def check_float(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                from decimal import Decimal

                if isinstance(value, Decimal):
                    return value
                raise _fail(f"expected a number, got {_type_name(value)}", "float_type", loc)
            return value

        return check_float
    if tp is int:

        def check_int(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _fail(f"expected an integer, got {_type_name(value)}", "int_type", loc)
            return value

        return check_int
    if tp in _SIMPLE:
        expected = _SIMPLE[tp]

        def check(value: Any) -> Any:
            if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
                raise _fail(f"expected {expected}, got {_type_name(value)}", f"{expected}_type", loc)
            return value

        return check
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list:
        container = _simple_checker(list, loc)
        item = _simple_checker(args[0], loc) if args else None
        if item is None:
            return container

        def check_list(value: Any) -> Any:
            container(value)  # type: ignore[misc]  # never None for list
            converted, errors = [], []
            for index, element in enumerate(value):
                try:
                    converted.append(_at(item, element, index, len(loc)))
                except InputValidationError as error:
                    errors.extend(error.context["errors"])
            if errors:
                raise InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors)
            return converted

        return check_list
    if origin is dict:
        container = _simple_checker(dict, loc)
        value_check = _simple_checker(args[1], loc) if len(args) == 2 else None
        if value_check is None:
            return container

        def check_dict(value: Any) -> Any:
            container(value)  # type: ignore[misc]  # never None for dict
            converted, errors = {}, []
            for key, element in value.items():
                try:
                    converted[key] = _at(value_check, element, key, len(loc))
                except InputValidationError as error:
                    errors.extend(error.context["errors"])
            if errors:
                raise InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors)
            return converted

        return check_dict
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        members = [member for member in args if member is not type(None)]
        optional = len(members) < len(args)
        checks = [_simple_checker(member, loc) for member in members]
        if any(check is None for check in checks):
            return None if not optional or len(members) > 1 else _none_or(None, loc)
        if len(checks) == 1:
            return _none_or(checks[0], loc) if optional else checks[0]

        def check_union(value: Any) -> Any:
            if value is None and optional:
                return None
            for member_check in checks:
                try:
                    return member_check(value)  # type: ignore[misc]  # None filtered above
                except InputValidationError:
                    continue
            raise _fail(f"matches none of the allowed types, got {_type_name(value)}", "union_type", loc)

        return check_union
    if kind_of(tp) == "dataclass":
        return _dataclass_converter(tp, loc)
    return None


def _none_or(check: Callable[[Any], Any] | None, loc: tuple[str | int, ...]) -> Callable[[Any], Any]:
    def check_optional(value: Any) -> Any:
        if value is None or check is None:
            return value
        return check(value)

    return check_optional


def _at(check: Callable[[Any], Any], value: Any, key: str | int, depth: int) -> Any:
    """Run ``check`` on one item; its errors get the item's index or key at ``depth`` in ``loc``."""
    try:
        return check(value)
    except InputValidationError as error:
        errors = [
            {**item, "loc": [*item["loc"][:depth], key, *item["loc"][depth:]]}
            for item in error.context["errors"]
        ]
        raise InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors) from None


def _field_types(tp: Any) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(tp)
    except Exception:  # unresolvable forward references: check nothing rather than fail
        return {}


def _dataclass_converter(tp: Any, loc: tuple[str | int, ...] = ()) -> Callable[[Any], Any]:
    import dataclasses

    hints = _field_types(tp)
    fields = []
    for field in dataclasses.fields(tp):
        if not field.init:
            continue
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        fields.append((field.name, required, _simple_checker(hints.get(field.name), (*loc, field.name))))

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail(f"expected an object, got {_type_name(data)}", "model_type", loc)
        errors: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        for name, required, check in fields:
            if name not in data:
                if required:
                    errors.append({"loc": [*loc, name], "msg": "field required", "type": "missing"})
                continue
            value = data[name]
            if check is not None:
                try:
                    value = check(value)
                except InputValidationError as error:
                    errors.extend(error.context["errors"])
                    continue
            kwargs[name] = value
        if errors:
            raise InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors)
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as error:  # __post_init__ validation of the user's own
            raise _fail(f"rejected by {tp.__name__}: {type(error).__name__}", "value_error", loc) from None

    return convert


def _typeddict_converter(tp: Any) -> Callable[[Any], Any]:
    import typing

    try:
        hints = typing.get_type_hints(tp, include_extras=True)
    except Exception:  # unresolvable forward references: trust the class's own record
        hints = {}
    # Read Required / NotRequired from the resolved hints: with postponed annotations
    # the class's __required_keys__ cannot see them.
    required_marker = getattr(typing, "Required", None)
    optional_marker = getattr(typing, "NotRequired", None)
    total = getattr(tp, "__total__", True)
    required_names = set(getattr(tp, "__required_keys__", ())) if not hints else set()
    checks = {}
    for name, hint in hints.items():
        origin = typing.get_origin(hint)
        if origin is not None and origin in (required_marker, optional_marker):
            is_required = origin is required_marker
            hint = typing.get_args(hint)[0]
        else:
            is_required = total
        if is_required:
            required_names.add(name)
        checks[name] = _simple_checker(hint, (name,))
    required = frozenset(required_names)

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail(f"expected an object, got {_type_name(data)}", "model_type")
        errors = [
            {"loc": [name], "msg": "field required", "type": "missing"}
            for name in sorted(required)
            if name not in data
        ]
        for name, check in checks.items():
            if check is not None and name in data:
                try:
                    check(data[name])
                except InputValidationError as error:
                    errors.extend(error.context["errors"])
        if errors:
            raise InputValidationError(f"Invalid input: {len(errors)} field error(s).", errors=errors)
        return data

    return convert


def _pydantic_errors(error: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": str(item.get("type", ""))}
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def _pydantic_converter(tp: Any) -> Callable[[Any], Any]:
    # The schema validator behind model_validate_json / model_validate (pydantic v2):
    # calling it directly saves the wrappers' frames on every request.
    validator = getattr(tp, "__pydantic_validator__", None)
    if validator is not None and hasattr(validator, "validate_json"):
        validate_json = validator.validate_json
        validate = validator.validate_python
    else:  # a model-like class without pydantic's internals
        validate_json = tp.model_validate_json
        validate = tp.model_validate

    def convert(data: Any) -> Any:
        try:
            if isinstance(data, (str, bytes, bytearray)):
                return validate_json(data)
            return validate(data)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            if hasattr(error, "errors"):
                errors = _pydantic_errors(error)
                raise InputValidationError(
                    f"Invalid input: {len(errors)} field error(s).", errors=errors
                ) from None
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
    structured: Callable[[Any], Any] | None = None
    if kind == "dataclass":
        structured = _dataclass_converter(tp)
    elif kind == "typeddict":
        structured = _typeddict_converter(tp)

    def convert(data: Any) -> Any:
        if isinstance(data, (str, bytes, bytearray)):
            data = _parse_json(bytes(data) if isinstance(data, bytearray) else data)
        return data if structured is None else structured(data)

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
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact JSON text of a core function's result."""
    serializer = getattr(type(value), "__pydantic_serializer__", None)
    if serializer is not None and hasattr(value, "model_dump_json"):
        try:  # model_dump_json's own fast path, without its wrapper frame
            text: str = serializer.to_json(value).decode()
            return text
        except TypeError:  # an unexpected pydantic internals signature: the public API
            text = value.model_dump_json()
            return text
    if hasattr(value, "model_dump_json") and hasattr(value, "model_validate_json"):
        text = value.model_dump_json()
        return text
    return json.dumps(to_jsonable(value), separators=(",", ":"), ensure_ascii=False, default=_default)
