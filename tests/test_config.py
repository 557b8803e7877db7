"""lambda_kit._config: explicit argument > LAMBDA_KIT_<NAME> > default, with clear errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit._config import (
    PREFIX,
    UNSET,
    _Unset,
    choice,
    flag,
    integer,
    non_negative_seconds,
    parse_bool,
    parse_float,
    parse_int,
    positive_seconds,
    resolve,
    seconds,
)
from lambda_kit.exceptions import ConfigurationError, LambdaKitError

TRUE_SPELLINGS = ["1", "true", "yes", "on"]
FALSE_SPELLINGS = ["0", "false", "no", "off"]
ALL_SPELLINGS = frozenset(TRUE_SPELLINGS + FALSE_SPELLINGS)


def positive(value: float) -> bool:
    return value > 0


# -- UNSET ---------------------------------------------------------------------------


def test_unset_is_falsy() -> None:
    assert not UNSET
    assert bool(UNSET) is False


def test_unset_is_a_singleton() -> None:
    assert _Unset() is UNSET
    assert type(UNSET)() is UNSET


def test_unset_repr() -> None:
    assert repr(UNSET) == "UNSET"


def test_unset_differs_from_none() -> None:
    assert UNSET is not None
    assert resolve("ttl", None, 300.0, parse_float, environ={}) is None


def test_prefix() -> None:
    assert PREFIX == "LAMBDA_KIT_"


# -- resolution order -----------------------------------------------------------------


def test_default_when_nothing_is_set() -> None:
    assert resolve("ttl", UNSET, 300.0, parse_float, environ={}) == 300.0


def test_environment_beats_default() -> None:
    assert resolve("ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "60"}) == 60.0


def test_explicit_beats_environment() -> None:
    assert resolve("ttl", 5.0, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "60"}) == 5.0


def test_explicit_beats_invalid_environment() -> None:
    # The variable is not even parsed when the caller passed a value.
    assert resolve("ttl", 5.0, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "nonsense"}) == 5.0


def test_falsy_explicit_values_are_not_treated_as_unset() -> None:
    env = {"LAMBDA_KIT_RETRIES": "9", "LAMBDA_KIT_ENABLED": "true"}
    assert resolve("retries", 0, 3, parse_int, environ=env) == 0
    assert resolve("enabled", False, True, parse_bool, environ=env) is False


def test_variable_name_is_the_upper_case_setting() -> None:
    env = {"LAMBDA_KIT_MAX_RETRIES": "7", "LAMBDA_KIT_max_retries": "1"}
    assert resolve("max_retries", UNSET, 3, parse_int, environ=env) == 7


def test_other_variables_are_ignored() -> None:
    env = {"TTL": "1", "LAMBDA_KIT_TTL_S": "2", "POWERTOOLS_TTL": "3"}
    assert resolve("ttl", UNSET, 300.0, parse_float, environ=env) == 300.0


@pytest.mark.parametrize("blank", ["", " ", "\t", "  \n "])
def test_blank_variable_means_default(blank: str) -> None:
    assert resolve("ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": blank}) == 300.0


def test_blank_variable_means_default_even_with_a_check_the_default_fails() -> None:
    # The default is trusted: it is the library's own choice, never checked.
    assert resolve("ttl", UNSET, -1.0, parse_float, check=positive, environ={"LAMBDA_KIT_TTL": ""}) == -1.0


def test_environment_value_is_stripped() -> None:
    assert resolve("retries", UNSET, 3, parse_int, environ={"LAMBDA_KIT_RETRIES": " 5\n"}) == 5


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_TTL", "42.5")
    assert resolve("ttl", UNSET, 300.0, parse_float) == 42.5


def test_os_environ_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_KIT_TTL", raising=False)
    assert resolve("ttl", UNSET, 300.0, parse_float) == 300.0
    monkeypatch.setenv("LAMBDA_KIT_TTL", "1")
    assert resolve("ttl", UNSET, 300.0, parse_float) == 1.0


def test_environ_mapping_replaces_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_TTL", "1")
    assert resolve("ttl", UNSET, 300.0, parse_float, environ={}) == 300.0
    assert resolve("ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "2"}) == 2.0


# -- errors -----------------------------------------------------------------------------


def test_invalid_environment_value_names_variable_and_value() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("ttl", UNSET, 300.0, parse_float, valid="seconds > 0", environ={"LAMBDA_KIT_TTL": "5m"})

    error = info.value
    message = str(error)
    assert "LAMBDA_KIT_TTL" in message
    assert "'5m'" in message
    assert "seconds > 0" in message
    assert error.context == {"setting": "ttl", "variable": "LAMBDA_KIT_TTL", "value": "5m"}


def test_invalid_environment_value_is_not_chained_to_the_value_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("retries", UNSET, 3, parse_int, environ={"LAMBDA_KIT_RETRIES": "three"})

    error = info.value
    assert error.__cause__ is None
    assert error.__suppress_context__ is True
    assert isinstance(error, ValueError)
    assert isinstance(error, LambdaKitError)


def test_invalid_environment_value_message_includes_the_parse_reason() -> None:
    with pytest.raises(ConfigurationError, match="expected one of 1, 0, true, false, yes, no, on, off"):
        resolve("enabled", UNSET, True, parse_bool, environ={"LAMBDA_KIT_ENABLED": "maybe"})


def test_message_without_valid_says_a_valid_value() -> None:
    with pytest.raises(ConfigurationError, match="expected a valid value"):
        resolve("retries", UNSET, 3, parse_int, environ={"LAMBDA_KIT_RETRIES": "x"})


def test_check_rejects_an_explicit_value() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("ttl", -1.0, 300.0, parse_float, check=positive, valid="a number of seconds > 0", environ={})

    error = info.value
    assert str(error) == "Invalid ttl=-1.0; expected a number of seconds > 0."
    assert error.context == {"setting": "ttl", "value": -1.0}
    assert "variable" not in error.context


def test_check_rejects_an_explicit_value_even_when_the_environment_is_valid() -> None:
    with pytest.raises(ConfigurationError, match=r"Invalid ttl=0\.0"):
        resolve("ttl", 0.0, 300.0, parse_float, check=positive, environ={"LAMBDA_KIT_TTL": "60"})


def test_check_accepts_a_valid_explicit_value() -> None:
    assert resolve("ttl", 1.5, 300.0, parse_float, check=positive, environ={}) == 1.5


def test_check_rejects_an_environment_value() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(
            "ttl",
            UNSET,
            300.0,
            parse_float,
            check=positive,
            valid="seconds > 0",
            environ={"LAMBDA_KIT_TTL": "-5"},
        )

    error = info.value
    assert str(error) == "Invalid LAMBDA_KIT_TTL='-5'; expected seconds > 0."
    assert error.context == {"setting": "ttl", "variable": "LAMBDA_KIT_TTL", "value": "-5"}


def test_check_accepts_a_valid_environment_value() -> None:
    assert resolve("ttl", UNSET, 300.0, parse_float, check=positive, environ={"LAMBDA_KIT_TTL": "5"}) == 5.0


# -- parsers ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [*TRUE_SPELLINGS, "TRUE", "Yes", " on ", "\tON\n"])
def test_parse_bool_true(raw: str) -> None:
    assert parse_bool(raw) is True


@pytest.mark.parametrize("raw", [*FALSE_SPELLINGS, "FALSE", "No", " off ", "\tOFF\n"])
def test_parse_bool_false(raw: str) -> None:
    assert parse_bool(raw) is False


@pytest.mark.parametrize("raw", ["", "2", "y", "n", "t", "f", "enabled", "truee", "o n"])
def test_parse_bool_rejects_other_text(raw: str) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        parse_bool(raw)


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), ("-7", -7), (" 10 ", 10), ("+3", 3)])
def test_parse_int(raw: str, expected: int) -> None:
    assert parse_int(raw) == expected


@pytest.mark.parametrize("raw", ["", "1.5", "ten", "1e3", "0x10"])
def test_parse_int_rejects_other_text(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # the message is int()'s own
        parse_int(raw)


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("1.5", 1.5), ("-2", -2.0), (" 1e3 ", 1000.0)])
def test_parse_float(raw: str, expected: float) -> None:
    assert parse_float(raw) == expected


@pytest.mark.parametrize("raw", ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400"])
def test_parse_float_rejects_non_finite(raw: str) -> None:
    with pytest.raises(ValueError, match="expected a finite number"):
        parse_float(raw)


def test_resolve_rejects_non_finite_environment_value() -> None:
    with pytest.raises(ConfigurationError, match=r"LAMBDA_KIT_TTL='inf'.*finite"):
        resolve("ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "inf"})


@pytest.mark.parametrize("raw", ["", "abc", "1,5"])
def test_parse_float_rejects_other_text(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # the message is float()'s own
        parse_float(raw)


# -- properties -------------------------------------------------------------------------


def case_variants(spelling: str) -> st.SearchStrategy[str]:
    """``spelling`` in any mix of upper and lower case."""
    return st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in spelling)).map("".join)


WHITESPACE = st.text(alphabet=" \t\n\r\x0b\x0c", max_size=3)


@given(
    spelling=st.sampled_from(sorted(ALL_SPELLINGS)).flatmap(case_variants),
    before=WHITESPACE,
    after=WHITESPACE,
)
def test_parse_bool_accepts_every_spelling_in_any_case_and_whitespace(
    spelling: str, before: str, after: str
) -> None:
    expected = spelling.lower() in TRUE_SPELLINGS
    assert parse_bool(before + spelling + after) is expected


@given(st.text())
def test_parse_bool_accepts_exactly_the_eight_spellings(raw: str) -> None:
    if raw.strip().lower() in ALL_SPELLINGS:
        assert parse_bool(raw) is (raw.strip().lower() in TRUE_SPELLINGS)
    else:
        with pytest.raises(ValueError, match="expected one of"):
            parse_bool(raw)


@given(st.integers())
def test_parse_int_round_trips(value: int) -> None:
    assert parse_int(str(value)) == value
    assert parse_int(f" {value}\n") == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_float_round_trips_finite_floats(value: float) -> None:
    assert parse_float(repr(value)) == value


@given(st.text())
def test_resolve_raises_only_configuration_error_for_any_environment_text(raw: str) -> None:
    error: ConfigurationError | None = None
    try:  # any other exception escapes and fails the test
        value = resolve("ttl", UNSET, 300.0, parse_float, check=positive, environ={"LAMBDA_KIT_TTL": raw})
    except ConfigurationError as caught:
        error = caught

    if error is None:
        assert isinstance(value, float)
        assert math.isfinite(value)
        assert value > 0
    else:
        assert error.context == {"setting": "ttl", "variable": "LAMBDA_KIT_TTL", "value": raw}
        assert error.__cause__ is None


def test_a_check_that_cannot_compare_the_value_rejects_it() -> None:
    from lambda_kit._config import resolve

    with pytest.raises(ConfigurationError, match="ttl"):
        resolve("ttl", "60", 300.0, float, check=lambda value: value > 0)  # type: ignore[operator]


# -- the argument the user typed --------------------------------------------------------


def test_an_invalid_explicit_value_is_named_by_its_argument() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("http_timeout", -1, 10.0, seconds(), argument="timeout", environ={})

    error = info.value
    assert str(error) == "Invalid timeout=-1; expected a finite number of seconds > 0."
    assert "http_timeout" not in str(error)
    assert error.context == {"setting": "http_timeout", "argument": "timeout", "value": -1}


def test_an_invalid_variable_is_named_by_the_variable_with_the_argument_in_the_context() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(
            "http_timeout",
            UNSET,
            10.0,
            seconds(),
            argument="timeout",
            environ={"LAMBDA_KIT_HTTP_TIMEOUT": "abc"},
        )

    error = info.value
    assert str(error).startswith("Invalid LAMBDA_KIT_HTTP_TIMEOUT='abc': ")
    assert str(error).endswith("; expected a finite number of seconds > 0.")
    assert error.context == {
        "setting": "http_timeout",
        "argument": "timeout",
        "variable": "LAMBDA_KIT_HTTP_TIMEOUT",
        "value": "abc",
    }


def test_a_variable_that_parses_but_fails_the_check_is_named_by_the_variable() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(
            "http_retries",
            UNSET,
            2,
            integer(0, 10),
            argument="retries",
            environ={"LAMBDA_KIT_HTTP_RETRIES": "11"},
        )

    assert str(info.value) == "Invalid LAMBDA_KIT_HTTP_RETRIES='11'; expected an integer from 0 to 10."
    assert info.value.context["argument"] == "retries"


def test_the_argument_changes_nothing_but_the_names() -> None:
    env = {"LAMBDA_KIT_HTTP_TIMEOUT": "4"}
    assert resolve("http_timeout", UNSET, 10.0, seconds(), argument="timeout", environ=env) == 4.0
    assert resolve("http_timeout", 2, 10.0, seconds(), argument="timeout", environ=env) == 2
    assert resolve("http_timeout", UNSET, 10.0, seconds(), argument="timeout", environ={}) == 10.0


# -- checks -----------------------------------------------------------------------------

NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", [0.001, 1, 2.5, 10**6])
def test_seconds_accepts_finite_positive_numbers(value: float) -> None:
    assert seconds().accepts(value)
    assert seconds(allow_zero=True).accepts(value)
    assert positive_seconds(value)
    assert non_negative_seconds(value)


@pytest.mark.parametrize("value", [0, 0.0])
def test_zero_seconds_only_with_allow_zero(value: float) -> None:
    assert not seconds().accepts(value)
    assert seconds(allow_zero=True).accepts(value)


@pytest.mark.parametrize("value", [True, False, *NON_FINITE, -1, -0.5, "1", None, [1], b"1"])
def test_seconds_refuses_bools_non_finite_negative_and_other_types(value: object) -> None:
    assert not seconds().accepts(value)
    assert not seconds(allow_zero=True).accepts(value)


def test_seconds_descriptions() -> None:
    assert seconds().valid == "a finite number of seconds > 0"
    assert seconds(allow_zero=True).valid == "a finite number of seconds >= 0"
    assert seconds().parse(" 1.5 ") == 1.5
    assert repr(seconds()) == "Check('a finite number of seconds > 0')"


def test_seconds_below_a_bound() -> None:
    check = seconds(below=3600)
    assert check.accepts(3599.5)
    assert not check.accepts(3600)
    assert not check.accepts(0)
    assert not check.accepts(True)
    assert not check.accepts(math.nan)
    assert check.valid == "a number of seconds > 0 and < 3600"
    with_zero = seconds(allow_zero=True, below=0.5)
    assert with_zero.accepts(0)
    assert not with_zero.accepts(0.5)
    assert with_zero.valid == "a number of seconds >= 0 and < 0.5"
    assert with_zero.parse("0.25") == 0.25


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e400"])
def test_seconds_refuses_a_non_finite_variable(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"Invalid LAMBDA_KIT_X=.*finite") as info:
        resolve("x", UNSET, 1.0, seconds(), argument="x", environ={"LAMBDA_KIT_X": text})
    assert info.value.context["variable"] == "LAMBDA_KIT_X"


def test_integer_bounds() -> None:
    check = integer(1, 9)
    assert [value for value in range(-1, 12) if check.accepts(value)] == list(range(1, 10))
    assert check.valid == "an integer from 1 to 9"
    unbounded = integer(0)
    assert unbounded.accepts(0)
    assert unbounded.accepts(10**30)
    assert not unbounded.accepts(-1)
    assert unbounded.valid == "an integer >= 0"
    assert unbounded.parse(" 12 ") == 12


@pytest.mark.parametrize("value", [True, False, 1.0, 5.5, *NON_FINITE, "3", None])
def test_integer_refuses_bools_floats_and_other_types(value: object) -> None:
    assert not integer(0, 10).accepts(value)
    assert not integer(0).accepts(value)


def test_choice() -> None:
    check = choice("json", "proto")
    assert check.accepts("json")
    assert check.accepts("proto")
    assert not check.accepts("JSON")  # an argument is taken as written; only variables are normalised
    assert not check.accepts(None)
    assert not check.accepts(["json"])
    assert check.parse("  PROTO\n") == "proto"
    assert check.valid == "'json' or 'proto'"
    assert choice("a").valid == "'a'"
    assert choice("a", "b", "c").valid == "'a', 'b' or 'c'"


def test_flag_takes_only_bools_but_reads_every_spelling() -> None:
    check = flag()
    assert check.accepts(True)
    assert check.accepts(False)
    for value in (1, 0, "yes", "true", None, 1.0):
        assert not check.accepts(value)
    assert check.parse("on") is True
    assert check.parse(" No ") is False
    assert check.valid == "True or False"


def test_an_invalid_flag_argument_and_variable_say_what_is_valid() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("protobuf_gzip", 1, False, flag(), argument="gzip", environ={})  # type: ignore[arg-type]
    assert str(info.value) == "Invalid gzip=1; expected True or False."

    with pytest.raises(ConfigurationError) as info:
        resolve(
            "protobuf_gzip",
            UNSET,
            False,
            flag(),
            argument="gzip",
            environ={"LAMBDA_KIT_PROTOBUF_GZIP": "maybe"},
        )
    assert str(info.value) == (
        "Invalid LAMBDA_KIT_PROTOBUF_GZIP='maybe': not a boolean; "
        "expected one of 1, 0, true, false, yes, no, on, off."
    )


def test_check_and_valid_keywords_override_the_check_s_own() -> None:
    def even(value: int) -> bool:
        return value % 2 == 0

    assert resolve("n", 4, 0, integer(0), check=even, environ={}) == 4
    with pytest.raises(ConfigurationError, match=r"^Invalid n=3; expected an even number\.$"):
        resolve("n", 3, 0, integer(0), check=even, valid="an even number", environ={})
    with pytest.raises(
        ConfigurationError, match=r"^Invalid LAMBDA_KIT_N='x': .*; expected an even number\.$"
    ):
        resolve("n", UNSET, 0, integer(0), valid="an even number", environ={"LAMBDA_KIT_N": "x"})


def test_check_validate_for_a_setting_without_a_variable() -> None:
    assert seconds().validate("read_timeout", 2.5) == 2.5
    with pytest.raises(ConfigurationError) as info:
        seconds().validate("read_timeout", True, also=" or None")

    error = info.value
    assert str(error) == "Invalid read_timeout=True; expected a finite number of seconds > 0 or None."
    assert error.context == {"setting": "read_timeout", "argument": "read_timeout", "value": True}


def test_check_validate_with_a_setting_name() -> None:
    with pytest.raises(ConfigurationError) as info:
        integer(1).validate("connections", 0, setting="warm_connections")
    assert info.value.context == {"setting": "warm_connections", "argument": "connections", "value": 0}


@given(st.one_of(st.floats(), st.integers(), st.booleans(), st.none(), st.text(max_size=3)))
def test_seconds_accepts_exactly_finite_non_bool_numbers(value: object) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    finite = number and math.isfinite(value)  # type: ignore[arg-type]
    assert seconds().accepts(value) is bool(finite and value > 0)  # type: ignore[operator]
    assert seconds(allow_zero=True).accepts(value) is bool(finite and value >= 0)  # type: ignore[operator]


# -- fallbacks (a peer library's variables, for users migrating) --------------------------


def test_fallbacks_are_read_in_order_after_ours() -> None:
    peers = ("AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE")
    both = {"AWS_EMF_NAMESPACE": "emf", "POWERTOOLS_METRICS_NAMESPACE": "pt"}

    def ns(env: dict[str, str]) -> str | None:
        return resolve("metrics_namespace", UNSET, None, str.strip, fallbacks=peers, environ=env)

    assert ns({}) is None
    assert ns({"POWERTOOLS_METRICS_NAMESPACE": "pt"}) == "pt"
    assert ns(both) == "emf"
    assert ns({**both, "LAMBDA_KIT_METRICS_NAMESPACE": "ours"}) == "ours"
    assert ns({**both, "LAMBDA_KIT_METRICS_NAMESPACE": "  ", "AWS_EMF_NAMESPACE": ""}) == "pt"


def test_an_invalid_fallback_is_named_and_a_lower_one_is_never_read() -> None:
    peers = ("PEER_TIMEOUT", "OTHER_TIMEOUT")
    env = {"PEER_TIMEOUT": "soon", "OTHER_TIMEOUT": "also bad"}
    with pytest.raises(ConfigurationError) as info:
        resolve("x_timeout", UNSET, 1.0, seconds(), argument="timeout", fallbacks=peers, environ=env)
    assert info.value.context["variable"] == "PEER_TIMEOUT"
    assert str(info.value).startswith("Invalid PEER_TIMEOUT='soon': ")

    # A valid variable of ours means no fallback is even parsed.
    assert (
        resolve(
            "x_timeout", UNSET, 1.0, seconds(), fallbacks=peers, environ={**env, "LAMBDA_KIT_X_TIMEOUT": "3"}
        )
        == 3.0
    )
