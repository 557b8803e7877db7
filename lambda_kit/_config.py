"""Configuration resolution shared by every lambda-kit module.

One order everywhere: an explicit argument wins, then the ``LAMBDA_KIT_<NAME>``
environment variable, then a safe, finite default. Values read from the
environment are parsed and validated here, so a typo in a function's
configuration fails with a clear :class:`~lambda_kit.exceptions.ConfigurationError`
naming the variable, instead of a ``ValueError`` deep inside a module.

Nothing here runs at import time; each resolution reads ``os.environ`` when it is
called (at INIT, when users construct their objects at module scope).
"""

from __future__ import annotations

import math
import os

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Final, TypeVar

    T = TypeVar("T")

__all__ = ["PREFIX", "UNSET", "parse_bool", "parse_float", "parse_int", "resolve"]

PREFIX: Final = "LAMBDA_KIT_"


class _Unset:
    """Sentinel type for "argument not given" where ``None`` is a valid value."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(raw: str) -> bool:
    """Parse a boolean environment value (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected one of 1, 0, true, false, yes, no, on, off")


def parse_int(raw: str) -> int:
    """Parse an integer environment value."""
    return int(raw.strip())


def parse_float(raw: str) -> float:
    """Parse a finite float environment value."""
    value = float(raw.strip())
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def resolve(
    setting: str,
    explicit: T | _Unset,
    default: T,
    parse: Callable[[str], T],
    *,
    check: Callable[[T], bool] | None = None,
    valid: str = "",
    environ: Mapping[str, str] | None = None,
) -> T:
    """Resolve one setting: explicit argument > ``LAMBDA_KIT_<SETTING>`` > default.

    Args:
        setting: The setting's name in snake case; the environment variable is
            ``LAMBDA_KIT_`` plus its upper-case form (``ttl`` -> ``LAMBDA_KIT_TTL``).
        explicit: The value the caller passed, or :data:`UNSET`.
        default: The value used when neither the argument nor the variable is set.
        parse: Turns the variable's text into a value; raises ``ValueError`` on bad text.
        check: Returns whether a value (explicit or parsed) is acceptable.
        valid: Describes the valid values, for the error message.
        environ: The environment to read (``os.environ`` by default).

    Returns:
        The resolved value.

    Raises:
        ConfigurationError: The explicit value or the variable's value is invalid.

    Example:
        >>> resolve("ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_TTL": "60"})
        60.0
    """
    variable = PREFIX + setting.upper()

    def acceptable(value: T) -> bool:
        if check is None:
            return True
        try:
            return bool(check(value))
        except (TypeError, ValueError, ArithmeticError):  # a value of the wrong type is invalid too
            return False

    if not isinstance(explicit, _Unset):
        if not acceptable(explicit):
            raise ConfigurationError(
                f"Invalid {setting}={explicit!r}; expected {valid or 'a valid value'}.",
                setting=setting,
                value=explicit,
            )
        return explicit
    env = os.environ if environ is None else environ
    raw = env.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError as error:
        raise ConfigurationError(
            f"Invalid {variable}={raw!r}: {error}; expected {valid or 'a valid value'}.",
            setting=setting,
            variable=variable,
            value=raw,
        ) from None
    if not acceptable(value):
        raise ConfigurationError(
            f"Invalid {variable}={raw!r}; expected {valid or 'a valid value'}.",
            setting=setting,
            variable=variable,
            value=raw,
        )
    return value
