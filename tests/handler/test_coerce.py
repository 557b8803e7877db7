"""Type-driven input conversion and output serialisation for the handler adapters."""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import InitVar, dataclass, field
from decimal import Decimal
from typing import Annotated, Any

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # typing's TypedDict learned NotRequired in 3.11: typing_extensions has both before
    from typing_extensions import NotRequired, TypedDict

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import InputValidationError
from lambda_kit.handler._coerce import _hints_one_by_one, converter_for, dumps, kind_of, to_jsonable


@dataclass
class Address:
    city: str
    zip_code: str


@dataclass
class Customer:
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    extra: dict[str, Any]
    address: Address
    note: str = ""
    items: list[int] = field(default_factory=list)


@dataclass
class Positive:
    value: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise ValueError("must be positive")


class Model(pydantic.BaseModel):
    name: str
    age: int


class Partial(TypedDict):
    name: str
    age: int
    nickname: NotRequired[str]


def _errors(convert: Any, data: Any) -> list[dict[str, Any]]:
    with pytest.raises(InputValidationError) as caught:
        convert(data)
    errors: list[dict[str, Any]] = caught.value.context["errors"]
    return errors


GOOD = {
    "name": "Ada",
    "age": 36,
    "score": 9,
    "active": True,
    "tags": ["x"],
    "extra": {},
    "address": {"city": "London", "zip_code": "N1"},
}


def test_kinds() -> None:
    assert [kind_of(t) for t in (str, bytes, Model, Customer, Partial, dict, int, list[int])] == [
        "str",
        "bytes",
        "pydantic",
        "dataclass",
        "typeddict",
        "any",
        "any",
        "any",
    ]


def test_dataclass_conversion_and_field_errors() -> None:
    convert = converter_for(Customer)
    customer = convert(json.dumps(GOOD))
    assert customer == Customer("Ada", 36, 9, True, ["x"], {}, Address("London", "N1"))
    assert convert(GOOD | {"score": Decimal("1.5")}).score == Decimal("1.5")
    bad = GOOD | {"age": True, "score": "high", "active": 1, "tags": "x", "address": {"city": 5}}
    bad.pop("name")
    assert _errors(convert, bad) == [
        {"loc": ["name"], "msg": "field required", "type": "missing"},
        {"loc": ["age"], "msg": "expected an integer, got boolean", "type": "int_type"},
        {"loc": ["score"], "msg": "expected a number, got string", "type": "float_type"},
        {"loc": ["active"], "msg": "expected boolean, got integer", "type": "boolean_type"},
        {"loc": ["tags"], "msg": "expected array, got string", "type": "array_type"},
        {"loc": ["address", "city"], "msg": "expected string, got integer", "type": "string_type"},
        {"loc": ["address", "zip_code"], "msg": "field required", "type": "missing"},
    ]
    assert _errors(convert, [1, 2])[0]["type"] == "model_type"
    assert _errors(convert, "{broken")[0]["type"] == "json_invalid"
    assert _errors(convert, b"\xff\xfe")[0]["type"] == "json_invalid"
    assert _errors(converter_for(Positive), {"value": -1}) == [
        {"loc": [], "msg": "rejected by Positive: ValueError", "type": "value_error"}
    ]


def test_errors_never_repeat_the_value() -> None:
    secret = "card-4111-1111-1111-1111"
    for convert, data in (
        (converter_for(Customer), GOOD | {"age": secret}),
        (converter_for(Model), {"name": "x", "age": secret}),
        (converter_for(Partial), {"name": "x", "age": secret}),
    ):
        with pytest.raises(InputValidationError) as caught:
            convert(data)
        assert secret not in str(caught.value)
        assert secret not in json.dumps(caught.value.context)


def test_pydantic_conversion() -> None:
    convert = converter_for(Model)
    assert convert('{"name": "a", "age": 1}') == Model(name="a", age=1)
    assert convert(b'{"name": "a", "age": 1}') == Model(name="a", age=1)
    assert convert({"name": "a", "age": "2"}) == Model(name="a", age=2)
    errors = _errors(convert, {"name": "a"})
    assert errors == [{"loc": ["age"], "msg": "Field required", "type": "missing"}]
    assert _errors(convert, "not json")[0]["type"] == "json_invalid"


def test_pydantic_value_error_without_error_list() -> None:
    class Weird:
        @classmethod
        def model_validate_json(cls, data: Any) -> Any:
            raise ValueError("odd")

        model_validate = model_validate_json

        def model_dump(self) -> dict[str, Any]:
            return {}

    assert _errors(converter_for(Weird), "{}") == [
        {"loc": [], "msg": "not valid for the model", "type": "value_error"}
    ]


def test_typeddict_conversion() -> None:
    convert = converter_for(Partial)
    assert convert({"name": "a", "age": 1}) == {"name": "a", "age": 1}
    assert _errors(convert, {"name": "a", "nickname": 3}) == [
        {"loc": ["age"], "msg": "field required", "type": "missing"},
        {"loc": ["nickname"], "msg": "expected string, got integer", "type": "string_type"},
    ]
    assert _errors(convert, "[]")[0]["type"] == "model_type"


def test_raw_text_and_bytes() -> None:
    to_str = converter_for(str)
    assert to_str("abc") == "abc"
    assert to_str(b"abc") == "abc"
    assert to_str(bytearray(b"x")) == "x"
    assert to_str({"a": 1}) == '{"a":1}'
    assert _errors(to_str, b"\xff")[0]["type"] == "string_unicode"
    to_bytes = converter_for(bytes)
    assert to_bytes("é") == "é".encode()
    assert to_bytes(bytearray(b"\x00")) == b"\x00"
    assert to_bytes([1]) == b"[1]"
    anything = converter_for(Any)
    assert anything('{"a": [1, 2]}') == {"a": [1, 2]}
    assert anything(bytearray(b"3")) == 3
    assert anything({"already": "parsed"}) == {"already": "parsed"}


def test_unresolvable_hints_check_nothing() -> None:
    @dataclass
    class Forward:
        value: Undefined  # type: ignore[name-defined]  # noqa: F821

    assert converter_for(Forward)({"value": object}).value is object


def test_hints_get_type_hints_refuses_are_read_one_by_one() -> None:
    # Python 3.10's get_type_hints refuses a postponed InitVar[int]; every version reads it here.
    @dataclass
    class Scaled:
        value: int
        factor: InitVar[int]
        note: Annotated[str, "meta"] = "x"

    hints = _hints_one_by_one(Scaled)
    assert list(hints) == ["value", "factor", "note"]
    assert hints["value"] is int
    assert isinstance(hints["factor"], InitVar)
    assert hints["factor"].type is int
    assert hints["note"] == Annotated[str, "meta"]

    class Partly:
        ok: int
        missing: Undefined  # type: ignore[name-defined]  # noqa: F821

    assert _hints_one_by_one(Partly) == {}

    class Elsewhere:  # a class whose module is gone: the builtins still resolve
        count: int

    Elsewhere.__module__ = "no_such_module_any_more"
    assert _hints_one_by_one(Elsewhere) == {"count": int}
    Elsewhere.__annotations__ = {"count": float}  # an object, not postponed text: kept as it is
    assert _hints_one_by_one(Elsewhere) == {"count": float}


def test_outputs() -> None:
    assert to_jsonable(Model(name="a", age=1)) == {"name": "a", "age": 1}
    assert to_jsonable(Address("c", "z")) == {"city": "c", "zip_code": "z"}
    assert to_jsonable(Address) is Address  # a class is not an instance
    assert to_jsonable([1]) == [1]
    assert dumps(Model(name="a", age=1)) == '{"name":"a","age":1}'
    value = {
        "d": Decimal("2"),
        "f": Decimal("2.5"),
        "s": {1},
        "t": (1,),
        "b": b"\x00",
        "when": datetime.date(2026, 11, 26),
        "text": "é",
    }
    assert json.loads(dumps(value)) == {
        "d": 2,
        "f": 2.5,
        "s": [1],
        "t": [1],
        "b": "AA==",
        "when": "2026-11-26",
        "text": "é",
    }
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"x": object()})


@given(st.one_of(st.text(), st.binary(), st.dictionaries(st.text(), st.integers()), st.lists(st.none())))
def test_converters_raise_only_input_validation_errors(data: Any) -> None:
    for tp in (Customer, Model, Partial, str, bytes, Any):
        errors: list[Any] = [{"ok": True}]
        try:
            converter_for(tp)(data)
        except InputValidationError as error:
            errors = error.context["errors"]
        assert errors


@dataclass
class Item:
    sku: str
    quantity: int


@dataclass
class Basket:
    items: list[Item]
    by_name: dict[str, Item]
    counts: list[int]
    note: str | None = None
    limit: int | None = None
    code: int | str = 0


def test_containers_optionals_and_unions_are_checked_item_by_item() -> None:
    convert = converter_for(Basket)
    good = {
        "items": [{"sku": "a", "quantity": 1}],
        "by_name": {"x": {"sku": "b", "quantity": 2}},
        "counts": [1, 2],
        "note": None,
        "limit": 3,
        "code": "A1",
    }
    basket = convert(good)
    assert basket.items == [Item("a", 1)]
    assert basket.by_name == {"x": Item("b", 2)}
    assert (basket.note, basket.limit, basket.code) == (None, 3, "A1")
    bad = {
        "items": [{"sku": "a", "quantity": 1}, {"sku": "b"}],
        "by_name": {"x": {"sku": 5, "quantity": 2}},
        "counts": [1, "two"],
        "limit": "ten",
        "code": [1],
    }
    locs = [error["loc"] for error in _errors(convert, bad)]
    assert locs == [["items", 1, "quantity"], ["by_name", "x", "sku"], ["counts", 1], ["limit"], ["code"]]


def test_deeply_nested_or_non_standard_json_is_refused() -> None:
    for text in ("[" * 100_000, '{"a": NaN}', "Infinity"):
        assert _errors(converter_for(Any), text)[0]["type"] == "json_invalid"
