"""lambda_kit._config: explicit argument > LAMBDA_KIT_<NAME> > default, with clear errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit._config import PREFIX, UNSET, _Unset, parse_bool, parse_float, parse_int, resolve
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
        resolve("ttl", "60", 300.0, float, check=lambda value: value > 0)  # type: ignore[arg-type,operator]
