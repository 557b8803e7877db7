"""Issue 11: every value an annotation accepts gets in, and nothing it refuses reaches the core.

Enums (every kind) and Literals from URL text and from JSON bodies, TypedDict required
keys through inheritance and qualifiers, and the scalar rules (text and JSON) that the
adapters share, with property tests for what a client sends.
"""

from __future__ import annotations

import datetime
import enum
import json
import math
import sys
import typing
import uuid
from dataclasses import InitVar, dataclass, field, make_dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType, Optional, Union

import pydantic
import pytest
import typing_extensions
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, InputValidationError
from lambda_kit.handler import http
from lambda_kit.handler._coerce import converter_for, dumps, text_parser
from lambda_kit.testing import events, invoke, reset_lifecycle

if sys.version_info >= (3, 11):
    from typing import NotRequired, Required, TypedDict
else:  # typing's TypedDict learned Required / NotRequired in 3.11: typing_extensions has all three
    from typing_extensions import NotRequired, Required, TypedDict


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


def _errors(convert: Any, data: Any) -> list[dict[str, Any]]:
    with pytest.raises(InputValidationError) as caught:
        convert(data)
    errors: list[dict[str, Any]] = caught.value.context["errors"]
    return errors


def _parse(tp: Any, text: str) -> Any:
    return text_parser(tp)[0](text)


def _refused(tp: Any, text: str) -> bool:
    try:
        _parse(tp, text)
    except ValueError:
        return True
    return False


# -- Enums of every kind --------------------------------------------------------------------


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Level(enum.Enum):  # int values without int behaviour
    DEBUG = 10
    INFO = 20


class Ratio(enum.Enum):
    HALF = 0.5
    ONE = 1.0


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Shade(str, enum.Enum):
    DARK = "dark"


class Mixed(enum.Enum):
    ONE = 1
    ONE_TEXT = "1"
    NOTHING = None
    PAIR = (1, "a")


class Answer(enum.Enum):  # True == 1: in one Enum with 1, True would be an alias of it
    YES = True
    NO = False


class Perm(enum.Flag):
    R = 1
    W = 2
    X = 4
    RW = 3


class Bits(enum.IntFlag):
    A = 1
    B = 2


class Loose(enum.Enum):
    """Matches its values case-insensitively through its own ``_missing_``."""

    ALPHA = "alpha"

    @classmethod
    def _missing_(cls, value: object) -> Loose | None:
        return cls.ALPHA if value.lower() == "alpha" else None  # type: ignore[attr-defined]


ENUM_CASES: list[tuple[Any, Any, str | None, Any]] = [
    # (enum, JSON value, URL text, member)
    (Priority, 2, "2", Priority.HIGH),
    (Level, 20, "20", Level.INFO),
    (Ratio, 0.5, "0.5", Ratio.HALF),
    (Ratio, 1, "1", Ratio.ONE),
    (Color, "red", "red", Color.RED),
    (Shade, "dark", "dark", Shade.DARK),
    (Mixed, 1, "+1", Mixed.ONE),  # "1" is the string member: an exact string first
    (Mixed, "1", "1", Mixed.ONE_TEXT),
    (Answer, True, "true", Answer.YES),
    (Answer, False, "Off", Answer.NO),
    (Mixed, [1, "a"], None, Mixed.PAIR),
    (Mixed, None, None, Mixed.NOTHING),
    (Perm, 1, "1", Perm.R),
    (Perm, 3, "3", Perm.RW),
    (Perm, 5, "5", Perm.R | Perm.X),
    (Perm, 0, "0", Perm(0)),
    (Perm, 5.0, "5.0", Perm.R | Perm.X),  # numbers by value: 5.0 is 5
    (Bits, 3, "3", Bits.A | Bits.B),
    (Loose, "ALPHA", "Alpha", Loose.ALPHA),
]
if sys.version_info >= (3, 11):

    class Size(enum.StrEnum):
        SMALL = enum.auto()

    ENUM_CASES.append((Size, "small", "small", Size.SMALL))


@pytest.mark.parametrize(("tp", "json_value", "text", "member"), ENUM_CASES)
def test_every_kind_of_enum_takes_its_values_from_json_and_from_text(
    tp: Any, json_value: Any, text: str | None, member: Any
) -> None:
    holder = make_dataclass("Holder", [("value", tp)])
    got = converter_for(holder)(json.dumps({"value": json_value})).value
    assert got == member
    assert type(got) is tp
    if text is not None:
        parsed = _parse(tp, text)
        assert parsed == member
        assert type(parsed) is tp


@pytest.mark.parametrize(
    ("tp", "json_value"),
    [
        (Priority, 3),
        (Priority, "2"),  # a JSON body says what it means: a string is not a number
        (Priority, True),  # True == 1, but true is not 1
        (Priority, "HIGH"),  # by value, never by name
        (Priority, None),
        (Priority, [2]),
        (Priority, {"v": 2}),
        (Level, 20.5),
        (Color, "RED"),
        (Color, 1),
        (Mixed, False),
        (Mixed, [1, "b"]),
        (Answer, 1),
        (Answer, "true"),
        (Perm, 8),  # a bit no member has
        (Perm, -1),
        (Perm, 2.5),
        (Bits, 4),  # IntFlag(4) keeps unknown bits; a client's unknown bit is refused
        (Loose, "beta"),
        (Loose, 3),  # the user's _missing_ raising AttributeError on an int is a refusal too
    ],
)
def test_enum_fields_refuse_what_is_not_one_of_their_values(tp: Any, json_value: Any) -> None:
    errors = _errors(converter_for(make_dataclass("Holder", [("value", tp)])), {"value": json_value})
    assert [(error["loc"], error["type"]) for error in errors] == [(["value"], "enum")]
    assert errors[0]["msg"].startswith("expected one of: ")


@pytest.mark.parametrize(
    ("tp", "text"),
    [
        (Priority, "3"),
        (Priority, "HIGH"),
        (Priority, " 2"),
        (Priority, "2_0"),
        (Priority, "\u0662"),  # an Arabic-Indic two
        (Priority, "nan"),
        (Priority, "true"),
        (Priority, ""),
        (Color, "RED"),
        (Perm, "8"),
        (Perm, "-1"),
        (Bits, "4"),
        (Loose, "beta"),
    ],
)
def test_enum_text_refuses_names_spaces_and_foreign_digits(tp: Any, text: str) -> None:
    assert _refused(tp, text)


def test_number_valued_enums_take_any_spelling_of_the_number_from_text() -> None:
    assert [_parse(Priority, text) for text in ("+2", "2.0", "2e0", "01")] == [
        Priority.HIGH,
        Priority.HIGH,
        Priority.HIGH,
        Priority.LOW,
    ]
    assert _parse(Ratio, ".5") is Ratio.HALF
    _, expected, kind = text_parser(Priority)
    assert (expected, kind) == ("one of: 1, 2", "enum")
    assert text_parser(Perm)[1] == "one of: 1, 2, 4, 3 (or a sum of them)"


def test_a_flag_whose_own_missing_refuses_combinations_takes_only_its_members() -> None:
    class Single(enum.Flag):
        A = 1
        B = 2

        @classmethod
        def _missing_(cls, value: object) -> None:
            return None  # no combinations: Single(3) raises ValueError

    assert _parse(Single, "2") is Single.B
    assert _refused(Single, "3")
    assert _errors(converter_for(make_dataclass("H", [("f", Single)])), {"f": 3})[0]["type"] == "enum"


def test_long_enums_list_twenty_values_in_a_400() -> None:
    Many = enum.Enum("Many", {f"M{index}": index for index in range(30)})  # type: ignore[misc]
    expected = text_parser(Many)[1]
    assert expected.endswith("19, ...")


# -- Literal ------------------------------------------------------------------------------


@dataclass
class Choice:
    number: Literal[1, 2]
    word: Literal["a", "b"] = "a"
    color: Literal[Color.RED] | None = None


def test_literal_fields_take_their_values_and_refuse_others() -> None:
    convert = converter_for(Choice)
    assert convert({"number": 2, "word": "b", "color": "red"}) == Choice(2, "b", Color.RED)
    number = convert({"number": 1.0}).number
    assert type(number) is int  # the declared value 1, not the float
    assert number == 1
    errors = _errors(convert, {"number": 3, "word": "c", "color": "green"})
    assert errors == [
        {"loc": ["number"], "msg": "expected one of: 1, 2", "type": "literal_error"},
        {"loc": ["word"], "msg": "expected one of: a, b", "type": "literal_error"},
        {"loc": ["color"], "msg": "expected one of: red", "type": "literal_error"},
    ]
    assert [error["type"] for error in _errors(convert, {"number": True})] == ["literal_error"]


def test_literals_of_ints_and_strings_from_url_text() -> None:
    assert _parse(Literal[1, 2], "2") == 2
    assert _parse(Literal[1, 2], "+1") == 1
    assert _refused(Literal[1, 2], "3")
    assert _parse(Literal["asc", "desc"], "desc") == "desc"
    assert _refused(Literal["asc", "desc"], "DESC")
    assert _parse(Literal["1", 1], "1") == "1"  # an exact string first
    assert _parse(Literal[True], "yes") is True
    assert text_parser(Literal[1, 2])[1:] == ("one of: 1, 2", "literal_error")


# -- TypedDict ------------------------------------------------------------------------------


class Base(TypedDict):
    order_id: str
    quantity: int


class Patch(Base, total=False):
    note: str
    priority: Required[Priority]


class Loosened(TypedDict, total=False):
    order_id: Required[str]
    note: str


class Strict(Loosened):
    quantity: int
    extra: NotRequired[int]


class Extended(typing_extensions.TypedDict, total=False):
    order_id: typing_extensions.Required[typing_extensions.ReadOnly[str]]
    tag: Annotated[typing_extensions.ReadOnly[str], "meta"]
    count: typing_extensions.ReadOnly[typing_extensions.NotRequired[int]]


# The functional syntax: real annotation objects, no postponed strings.
Functional = TypedDict(  # noqa: UP013 - the syntax under test
    "Functional", {"a": Required[int], "b": int, "c": Annotated[Required[str], "m"]}, total=False
)


def test_total_false_typeddict_keeps_the_required_keys_of_its_total_base() -> None:
    # The issue's report: a missing inherited key reached the core (a KeyError, a 500).
    convert = converter_for(Patch)
    assert _errors(convert, {"quantity": 1, "priority": 2}) == [
        {"loc": ["order_id"], "msg": "field required", "type": "missing"}
    ]
    assert convert({"order_id": "o", "quantity": 1, "priority": 1}) == {
        "order_id": "o",
        "quantity": 1,
        "priority": Priority.LOW,
    }
    assert [error["loc"] for error in _errors(convert, {})] == [["order_id"], ["priority"], ["quantity"]]


@pytest.mark.parametrize(
    ("tp", "required"),
    [
        (Patch, ["order_id", "priority", "quantity"]),
        (Strict, ["order_id", "quantity"]),
        (Extended, ["order_id"]),
        (Functional, ["a", "c"]),
    ],
)
def test_typeddict_required_keys_follow_totality_inheritance_and_qualifiers(
    tp: Any, required: list[str]
) -> None:
    missing = [error["loc"][0] for error in _errors(converter_for(tp), {})]
    assert missing == required


def test_typeddict_values_are_checked_through_qualifiers_and_annotated() -> None:
    errors = _errors(converter_for(Extended), {"order_id": 1, "tag": 2, "count": "x"})
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["order_id"], "string_type"),
        (["tag"], "string_type"),
        (["count"], "int_type"),
    ]
    assert _errors(converter_for(Functional), {"a": 1, "c": 3})[0]["loc"] == ["c"]


class Line(TypedDict):
    sku: str
    quantity: int


@dataclass
class Cart:
    lines: list[Line]
    first: Optional[Line] = None  # noqa: UP045 - the spelling under test
    either: Union[Line, int] = 0  # noqa: UP007 - the spelling under test
    by_sku: dict[str, Line] = field(default_factory=dict)


def test_typeddicts_inside_dataclasses_lists_optionals_and_unions_are_checked() -> None:
    convert = converter_for(Cart)
    good = {"lines": [{"sku": "a", "quantity": 1}], "first": None, "either": {"sku": "b", "quantity": 2}}
    cart = convert(good)
    assert cart.lines == [{"sku": "a", "quantity": 1}]
    assert cart.either == {"sku": "b", "quantity": 2}
    bad = {"lines": [{"sku": "a"}], "first": {"quantity": 1}, "either": "x", "by_sku": {"k": {}}}
    assert [error["loc"] for error in _errors(convert, bad)] == [
        ["lines", 0, "quantity"],
        ["first", "sku"],
        ["either"],
        ["by_sku", "k", "quantity"],
        ["by_sku", "k", "sku"],
    ]


def test_typeddict_converts_its_values_without_touching_the_input() -> None:
    data = {"order_id": "o", "quantity": 1, "priority": 2, "unknown": "kept"}
    converted = converter_for(Patch)(data)
    assert converted["priority"] is Priority.HIGH
    assert converted["unknown"] == "kept"
    assert data["priority"] == 2
    plain = {"sku": "a", "quantity": 1}
    assert converter_for(Line)(plain) is plain  # nothing converted: no copy


# -- dataclasses: defaults, default_factory, InitVar, nesting ---------------------------------


@dataclass
class Scaled:
    value: int
    factor: InitVar[int]
    offset: InitVar[int] = 0
    tags: list[str] = field(default_factory=list)
    label: str = "x"

    def __post_init__(self, factor: int, offset: int) -> None:
        self.value = self.value * factor + offset


def test_dataclass_init_vars_are_arguments_like_fields() -> None:
    convert = converter_for(Scaled)
    assert convert({"value": 2, "factor": 3}).value == 6
    assert convert({"value": 2, "factor": 3, "offset": 1}).value == 7
    assert _errors(convert, {"value": 2}) == [{"loc": ["factor"], "msg": "field required", "type": "missing"}]
    assert _errors(convert, {"value": 2, "factor": "3"})[0]["loc"] == ["factor"]


class Money(pydantic.BaseModel):
    amount: int
    currency: str


@dataclass
class Invoice:
    total: Money
    lines: list[Money]


def test_pydantic_models_inside_dataclasses_are_validated() -> None:
    convert = converter_for(Invoice)
    invoice = convert(
        {"total": {"amount": 3, "currency": "EUR"}, "lines": [{"amount": "3", "currency": "EUR"}]}
    )
    assert invoice.total == Money(amount=3, currency="EUR")
    assert invoice.lines[0].amount == 3
    errors = _errors(convert, {"total": '{"amount": 3, "currency": "EUR"}', "lines": [{"amount": 1}]})
    assert [error["loc"] for error in errors] == [["total"], ["lines", 0, "currency"]]


@dataclass
class Node:
    name: str
    children: list[Node] = field(default_factory=list)


def test_recursive_dataclasses_are_checked_at_every_depth() -> None:
    convert = converter_for(Node)
    tree = convert({"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]})
    assert tree.children[0].children[0] == Node("c")
    assert _errors(convert, {"name": "a", "children": [{"children": [{"name": 1}]}]}) == [
        {"loc": ["children", 0, "name"], "msg": "field required", "type": "missing"},
        {
            "loc": ["children", 0, "children", 0, "name"],
            "msg": "expected string, got integer",
            "type": "string_type",
        },
    ]


def test_recursive_types_nested_to_the_interpreter_limit_are_a_400() -> None:
    depth = (sys.getrecursionlimit() - 100) // 2  # json parses it; checking it needs more frames
    text = '{"name": "x", "children": [' * depth + '{"name": "x"}' + "]}" * depth
    assert _errors(converter_for(Node), text) == [
        {"loc": [], "msg": "input is nested too deeply", "type": "recursion_loop"}
    ]


def test_top_level_containers_of_dataclasses_are_converted() -> None:
    convert = converter_for(list[Node])
    assert convert('[{"name": "a"}]') == [Node("a")]
    assert _errors(convert, '[{"name": 1}]')[0]["loc"] == [0, "name"]
    assert _errors(converter_for(dict), "[1]")[0]["type"] == "object_type"
    assert converter_for(int)("5") == 5
    assert _errors(converter_for(int), "9" * 5000)[0]["type"] == "json_invalid"  # beyond int()'s digit limit


Counts = typing_extensions.TypeAliasType("Counts", list[int])


@dataclass
class Shapes:
    counts: Counts
    either: int | str | None
    opaque: int | complex  # complex is not checked: the union passes anything
    bare: tuple  # type: ignore[type-arg]  # the bare spelling under test
    derived: int = field(init=False, default=0)


def test_aliases_unions_and_bare_containers_are_checked_as_written() -> None:
    convert = converter_for(Shapes)
    got = convert({"counts": [1], "either": None, "opaque": "anything", "bare": [1, "a"], "derived": 5})
    assert (got.counts, got.either, got.opaque, got.bare, got.derived) == ([1], None, "anything", (1, "a"), 0)
    errors = _errors(convert, {"counts": ["x"], "either": 1.5, "opaque": 1, "bare": {}})
    assert [error["loc"] for error in errors] == [["counts", 0], ["either"], ["bare"]]
    assert _parse(typing_extensions.TypeAliasType("Number", int), "7") == 7


def test_values_already_of_the_type_pass_through() -> None:
    ident = uuid.UUID(int=5)
    holder = make_dataclass("H", [("b", bytes), ("u", uuid.UUID), ("d", Decimal), ("p", Priority)])
    got = converter_for(holder)({"b": b"\x00", "u": ident, "d": Decimal("1.5"), "p": Priority.LOW})
    assert (got.b, got.u, got.d, got.p) == (b"\x00", ident, Decimal("1.5"), Priority.LOW)
    assert _errors(converter_for(holder), {"b": b"", "u": ident, "d": Decimal("nan"), "p": 1})[0]["loc"] == [
        "d"
    ]


def test_enum_values_json_cannot_hold_are_named_by_type_and_never_match() -> None:
    class Opaque(enum.Enum):
        SET = frozenset({1})
        ONE = 1

    assert text_parser(Opaque)[1] == "one of: frozenset, 1"
    assert _errors(converter_for(make_dataclass("H", [("o", Opaque)])), {"o": [1]})[0]["type"] == "enum"


class Converted(TypedDict):
    first: Priority
    second: Color
    anything: Any


def test_typeddict_with_several_converted_values_copies_once() -> None:
    data = {"first": 1, "second": "red", "anything": object}
    assert converter_for(Converted)(data) == {"first": Priority.LOW, "second": Color.RED, "anything": object}
    assert data["first"] == 1


# -- scalars in JSON bodies -------------------------------------------------------------------


UserId = NewType("UserId", int)


@dataclass
class Scalars:
    price: Decimal
    ident: uuid.UUID
    day: datetime.date
    at: datetime.datetime
    clock: datetime.time
    blob: bytes
    ratio: float
    pair: tuple[int, str]
    many: tuple[int, ...]
    unique: set[int]
    frozen: frozenset[str]
    by_id: dict[int, str]
    user: UserId
    marked: Annotated[int, "meta"]


SCALARS = {
    "price": "12.50",
    "ident": "12345678-1234-5678-1234-567812345678",
    "day": "2026-11-26",
    "at": "2026-11-26T10:00:00Z",
    "clock": "10:30",
    "blob": "AAE=",
    "ratio": 1,
    "pair": [1, "a"],
    "many": [1, 2],
    "unique": [1, 1, 2],
    "frozen": ["a"],
    "by_id": {"7": "seven"},
    "user": 3,
    "marked": 4,
}


def test_scalar_fields_are_converted_from_their_json_form() -> None:
    got = converter_for(Scalars)(SCALARS)
    assert got == Scalars(
        Decimal("12.50"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        datetime.date(2026, 11, 26),
        datetime.datetime(2026, 11, 26, 10, tzinfo=datetime.timezone.utc),
        datetime.time(10, 30),
        b"\x00\x01",
        1,
        (1, "a"),
        (1, 2),
        {1, 2},
        frozenset({"a"}),
        {7: "seven"},
        UserId(3),
        4,
    )
    assert converter_for(Scalars)(SCALARS | {"price": 0.1}).price == Decimal("0.1")


def test_scalar_fields_refuse_what_their_type_refuses() -> None:
    bad = {
        "price": "nan",
        "ident": "{12345678-1234-5678-1234-567812345678}",
        "day": "26/11/2026",
        "at": 1_700_000_000,
        "clock": "25:00",
        "blob": "not base64!",
        "ratio": math.inf,
        "pair": [1, "a", 2],
        "many": [1, "2"],
        "unique": [[1]],
        "frozen": "a",
        "by_id": {"seven": "7"},
        "user": "3",
        "marked": True,
    }
    errors = _errors(converter_for(Scalars), bad)
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["price"], "decimal_parsing"),
        (["ident"], "uuid_parsing"),
        (["day"], "date_parsing"),
        (["at"], "datetime_type"),
        (["clock"], "time_parsing"),
        (["blob"], "bytes_parsing"),
        (["ratio"], "finite_number"),
        (["pair"], "array_length"),
        (["many", 1], "int_type"),
        (["unique", 0], "int_type"),
        (["frozen"], "array_type"),
        (["by_id", "seven"], "integer_parsing"),
        (["user"], "int_type"),
        (["marked"], "int_type"),
    ]
    assert _errors(converter_for(set[Any]), [[1]])[0]["type"] == "set_item_unhashable"
    more = _errors(converter_for(Scalars), SCALARS | {"price": True, "ident": 5, "blob": 5})
    assert [error["type"] for error in more] == ["decimal_type", "uuid_type", "bytes_type"]
    assert (
        _errors(converter_for(Scalars), SCALARS | {"price": Decimal("1e99999")})[0]["type"]
        == "decimal_parsing"
    )
    text = json.dumps(SCALARS).replace('"ratio": 1', '"ratio": 1e400')  # json.loads reads it as infinity
    assert _errors(converter_for(Scalars), text)[0]["type"] == "finite_number"


def test_results_with_enums_and_uuids_serialise_as_their_values() -> None:
    ident = uuid.UUID(int=1)
    assert json.loads(dumps({"c": Color.RED, "p": Perm.RW, "i": Priority.LOW, "u": ident})) == {
        "c": "red",
        "p": 3,
        "i": 1,
        "u": str(ident),
    }


# -- scalars in URLs ----------------------------------------------------------------------------

HOSTILE: dict[Any, list[str]] = {
    int: [
        "",
        " 1",
        "1 ",
        "1_000",
        "\u0661\u0662\u0663",
        "\uff11\uff12",
        "0x10",
        "+-1",
        "1.0",
        "9" * 5000,
        "\x00",
        "\ud800",
    ],
    float: [
        "",
        " 1",
        "1_0.5",
        "\u0661.\u0665",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e999",
        "0x1p3",
        "1e",
        ".",
    ],
    Decimal: [
        "",
        "nan",
        "sNaN",
        "Infinity",
        "1_0",
        "\u0661",
        "1e99999",
        "1e99999999999999999999",
        "9" * 5000,
    ],
    bool: ["", " true", "true ", "tru", "2", "\uff54\uff52\uff55\uff45", "y"],
    uuid.UUID: [
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234567812345678",
        "+2345678123456781234567812345678",
        "1_345678123456781234567812345678",
        "\u06612345678123456781234567812345678",
        " 12345678123456781234567812345678",
    ],
    datetime.date: [
        "2026-02-30",
        "\uff12\uff10\uff12\uff16-11-26",
        "2026-11-26T10:00",
        "20261126",
        "2026-W48-4",
        " 2026-11-26",
    ],
    datetime.datetime: [
        "2026-11-26",
        "2026-11-26T24:00",
        "2026-11-26T10:00+24:00",
        "2026-11-26T10:00+01:75",
        "2026-11-26T10:00:60",
        "2026-11-26T10:00 01:00",  # a "+" that a query string turned into a space
    ],
    datetime.time: ["25:00", "10", "10:00:00.", "10:00+1", "\uff11\uff10:00"],
    Priority: ["3", "HIGH", "", "\u0662", "nan", "1e999"],
    Literal[1, "a"]: ["A", "2", " 1", "\u0661"],
    Answer: ["maybe", "2", ""],
    Optional[int]: [" ", "null", "None"],  # noqa: UP045 - the spelling under test
    bytes: ["\ud800"],
}


@pytest.mark.parametrize(
    ("tp", "text"), [(tp, text) for tp, texts in HOSTILE.items() for text in texts], ids=repr
)
def test_hostile_url_text_is_refused(tp: Any, text: str) -> None:
    assert _refused(tp, text)


TEXT_TYPES: list[Any] = [*HOSTILE, Color, Perm, int | float, str]


def _instance_of(tp: Any, value: Any) -> bool:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is Literal:
        return value in args
    if args:
        return any(_instance_of(arg, value) for arg in args)
    if tp is type(None):
        return value is None
    return isinstance(value, tp) and not (tp is int and isinstance(value, bool))


PARSERS = [(tp, text_parser(tp)[0]) for tp in TEXT_TYPES]


@given(st.text() | st.from_regex(r"[+-]?[0-9]{1,40}([.][0-9]*)?([eE][+-]?[0-9]{1,5})?", fullmatch=True))
def test_any_url_text_is_refused_or_a_value_of_the_type(text: str) -> None:
    for tp, parse in PARSERS:
        try:
            value = parse(text)
        except ValueError:
            continue
        assert _instance_of(tp, value), (tp, text)


@pytest.mark.parametrize(
    ("tp", "text", "value"),
    [
        (int, "+7", 7),
        (int, "-0", 0),
        (float, "-1.5e2", -150.0),
        (float, "1.", 1.0),
        (float, "1e-999", 0.0),
        (bool, "TRUE", True),
        (bool, "Off", False),
        (Decimal, "1e3", Decimal("1e3")),
        (uuid.UUID, "12345678123456781234567812345678", uuid.UUID(int=0x12345678123456781234567812345678)),
        (
            uuid.UUID,
            "ABCDEF01-2345-6789-ABCD-EF0123456789",
            uuid.UUID("abcdef01-2345-6789-abcd-ef0123456789"),
        ),
        (datetime.datetime, "2026-11-26 10:00:00.5-05:30", None),
        (datetime.time, "10:00:00.123456789Z", datetime.time(10, 0, 0, 123456, datetime.timezone.utc)),
        (bytes, "é", "é".encode()),
        (Optional[int], "", None),  # noqa: UP045 - the spelling under test
        (Optional[str], "", ""),  # noqa: UP045 - the spelling under test
        (int | str, "x", "x"),
        (Annotated[int, "meta"], "3", 3),
        (NewType("Count", int), "3", 3),
        (Any, "x", "x"),
    ],
)
def test_url_text_as_clients_write_it(tp: Any, text: str, value: Any) -> None:
    if value is None and tp is datetime.datetime:
        offset = datetime.timezone(-datetime.timedelta(hours=5, minutes=30))
        value = datetime.datetime(2026, 11, 26, 10, 0, 0, 500000, offset)
    assert _parse(tp, text) == value


def test_url_text_errors_name_what_was_expected() -> None:
    assert [text_parser(tp)[1:] for tp in (int, float, bool, Decimal, uuid.UUID, datetime.date)] == [
        ("integer", "integer_parsing"),
        ("number", "number_parsing"),
        ("boolean", "boolean_parsing"),
        ("decimal number", "decimal_parsing"),
        ("UUID", "uuid_parsing"),
        ("date (YYYY-MM-DD)", "date_parsing"),
    ]
    assert text_parser(Optional[int])[1:] == ("integer (or empty)", "integer_parsing")  # noqa: UP045
    assert text_parser(int | Color)[1:] == ("integer or one of: red, green", "union_parsing")
    assert text_parser(str)[0] is str


@pytest.mark.parametrize("tp", [list[int], dict, Node, Money, int | list[int], object.__new__])
def test_types_that_text_cannot_hold_are_refused_at_init(tp: Any) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read query value 'q' as"):
        text_parser(tp, "query value 'q'")


_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)


@given(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.datetimes(timezones=st.none() | _OFFSETS),
    st.sampled_from([*Priority, *Color, *Ratio]),
)
def test_a_value_written_as_a_client_would_reads_back_as_itself(
    number: int, real: float, decimal: Decimal, ident: uuid.UUID, when: datetime.datetime, member: Any
) -> None:
    if len(str(abs(number))) <= 4300:
        assert _parse(int, str(number)) == number
        assert _parse(int, f"+{number}" if number >= 0 else str(number)) == number
    assert _parse(float, repr(real)) == real
    assert _parse(float, f"{real:.17e}") == real
    if len(decimal.as_tuple().digits) <= 4300 and abs(decimal.adjusted()) <= 4300:
        assert _parse(Decimal, str(decimal)) == decimal
    assert _parse(uuid.UUID, str(ident)) == ident
    assert _parse(uuid.UUID, ident.hex.upper()) == ident
    assert _parse(datetime.datetime, when.isoformat()) == when
    assert _parse(datetime.date, when.date().isoformat()) == when.date()
    assert _parse(datetime.time, when.timetz().isoformat()) == when.timetz()
    assert _parse(type(member), str(member.value)) is member
    for text, truth in (("true", True), ("false", False), ("1", True), ("0", False)):
        assert _parse(bool, text) is truth


# -- round trips through the body converter -----------------------------------------------------


@dataclass
class Record:
    priority: Priority
    color: Color
    perm: Perm
    mode: Literal["a", 1]
    price: Decimal
    ident: uuid.UUID
    at: datetime.datetime
    day: datetime.date
    blob: bytes
    pair: tuple[int, str]
    tags: frozenset[str]
    by_id: dict[int, float]
    nested: Line
    maybe: Color | None = None


@given(
    st.builds(
        Record,
        priority=st.sampled_from(Priority),
        color=st.sampled_from(Color),
        perm=st.sampled_from([Perm(value) for value in range(8)]),
        mode=st.sampled_from(["a", 1]),
        price=st.decimals(places=2, min_value=-(10**9), max_value=10**9),
        ident=st.uuids(),
        at=st.datetimes(timezones=st.none() | _OFFSETS),
        day=st.dates(),
        blob=st.binary(),
        pair=st.tuples(st.integers(-(10**18), 10**18), st.text()),
        tags=st.frozensets(st.text()),
        by_id=st.dictionaries(
            st.integers(-(10**18), 10**18), st.floats(allow_nan=False, allow_infinity=False)
        ),
        nested=st.fixed_dictionaries({"sku": st.text(), "quantity": st.integers(-(10**18), 10**18)}),
        maybe=st.none() | st.sampled_from(Color),
    )
)
def test_what_dumps_writes_converts_back_to_the_same_value(record: Record) -> None:
    assert converter_for(Record)(dumps(record)) == record


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


BODY_CONVERTERS = [converter_for(tp) for tp in (Scalars, Record, Cart, Patch, Choice)]


@given(st.dictionaries(st.sampled_from([*SCALARS, *Record.__annotations__, "lines", "order_id"]), JSON))
def test_hostile_bodies_are_refused_or_converted(data: dict[str, Any]) -> None:
    for convert in BODY_CONVERTERS:
        errors: list[Any] = ["converted"]
        try:
            convert(data)
        except InputValidationError as error:
            errors = error.context["errors"]
        assert errors


@dataclass
class Choices:
    mixed: Mixed
    perm: Perm
    loose: Loose
    answer: Answer
    lit: Literal[1, "a", None]


CHOICES = converter_for(Choices)


@given(JSON)
def test_hostile_values_for_enum_and_literal_fields_are_refused_or_members(value: Any) -> None:
    data = dict.fromkeys(("mixed", "perm", "loose", "answer", "lit"), value)
    errors: list[dict[str, Any]] = []
    try:
        got = CHOICES(data)
    except InputValidationError as error:
        errors = error.context["errors"]
    if errors:
        assert {item["type"] for item in errors} <= {"enum", "literal_error"}
    else:
        assert [type(value) for value in (got.mixed, got.perm, got.loose, got.answer)] == [
            Mixed,
            Perm,
            Loose,
            Answer,
        ]
        assert got.lit in (1, "a", None)


# -- through the HTTP adapter -------------------------------------------------------------------


@dataclass
class Task:
    title: str
    priority: Priority
    color: Color = Color.RED


def create_task(task: Task) -> dict[str, Any]:
    return {"title": task.title, "priority": task.priority.name, "color": task.color.name}


def patch_order(order: Patch) -> dict[str, Any]:
    return {"order_id": order["order_id"], "quantity": order["quantity"], "priority": order["priority"].name}


def test_enum_fields_of_a_json_body_reach_the_core_as_members() -> None:
    handler = http({"POST /tasks": create_task})
    response = invoke(handler, events.api_gateway_v2("POST", "/tasks", body={"title": "t", "priority": 2}))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"title": "t", "priority": "HIGH", "color": "RED"}
    bad = invoke(handler, events.api_gateway_v2("POST", "/tasks", body={"title": "t", "priority": 9}))
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"])["errors"] == [
        {"loc": ["priority"], "msg": "expected one of: 1, 2", "type": "enum"}
    ]


def test_a_missing_inherited_typeddict_key_is_a_400_not_a_500() -> None:
    handler = http({"PATCH /orders": patch_order})
    response = invoke(handler, events.api_gateway_v2("PATCH", "/orders", body={"quantity": 1, "priority": 1}))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["errors"] == [
        {"loc": ["order_id"], "msg": "field required", "type": "missing"}
    ]
    good = {"order_id": "o", "quantity": 1, "priority": 2}
    response = invoke(handler, events.api_gateway_v2("PATCH", "/orders", body=good))
    assert json.loads(response["body"]) == {"order_id": "o", "quantity": 1, "priority": "HIGH"}
