"""Configuration resolution shared by every lambda-kit module: one order, one set of checks.

One order everywhere: an explicit argument wins, then the ``LAMBDA_KIT_<NAME>``
environment variable (then, for a few settings, a peer library's variable), then a
safe, finite default. Values read from the environment are parsed and validated
here, so a typo in a function's configuration fails with a clear
:class:`~lambda_kit.exceptions.ConfigurationError` naming what the user wrote: the
argument (``Invalid timeout=-1``) or the variable (``Invalid
LAMBDA_KIT_HTTP_TIMEOUT='abc'``), instead of a ``ValueError`` deep inside a module.

The checks are shared, so every module agrees on what a number of seconds or a
count is: :func:`seconds`, :func:`integer`, :func:`choice` and :func:`flag` return a
:class:`Check` that parses a variable's text, accepts or refuses a value, and says
what is valid. A number is never a ``bool`` (``True`` is not 1 second) and never
NaN or infinity.

Nothing here runs at import time; each resolution reads ``os.environ`` when it is
called (at INIT, when users construct their objects at module scope).

Example:
    >>> resolve("http_timeout", 5.0, 10.0, seconds(), argument="timeout", environ={})
    5.0
"""

from __future__ import annotations

import math
import os

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, Final, Generic, TypeVar

    T = TypeVar("T")

    class _Generic(Generic[T]):
        __slots__ = ()

else:

    class _Generic:  # typing is not imported at runtime: Check[float] is for mypy only
        __slots__ = ()

        def __class_getitem__(cls, item: object) -> type:
            return cls


__all__ = [
    "PREFIX",
    "UNSET",
    "Check",
    "choice",
    "flag",
    "integer",
    "non_negative_seconds",
    "parse_bool",
    "parse_float",
    "parse_int",
    "positive_seconds",
    "resolve",
    "seconds",
]

PREFIX: Final = "LAMBDA_KIT_"
_INF = math.inf


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


# -- parsers: a variable's text to a value (ValueError on bad text) ----------------------


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


def _parse_text(raw: str) -> str:
    return raw.strip().lower()


def _parse_flag(raw: str) -> bool:
    try:
        return parse_bool(raw)
    except ValueError:
        raise ValueError("not a boolean") from None  # the Check's valid_text lists the spellings


# -- predicates: plain functions, cheap enough for a per-request check ------------------


def positive_seconds(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds > 0 (an int or a float, never a bool)."""
    # NaN fails both comparisons; False fails `0 <`, and `is not True` is cheaper than isinstance(bool).
    return isinstance(value, (int, float)) and 0 < value < _INF and value is not True


def non_negative_seconds(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds >= 0 (an int or a float, never a bool)."""
    return value is not True and value is not False and isinstance(value, (int, float)) and 0 <= value < _INF


def _is_bool(value: object) -> bool:
    return value is True or value is False


class Check(_Generic["T"]):
    """What one kind of setting accepts: how its variable is read, which values pass, how to say so.

    Pass one to :func:`resolve` in place of a parser; use :meth:`validate` for a
    setting that has no environment variable. Make them with :func:`seconds`,
    :func:`integer`, :func:`choice` or :func:`flag`.

    Attributes:
        parse: Turns a variable's text into a value; raises ``ValueError`` on bad text.
        accepts: Whether a value (explicit or parsed) is valid; never raises.
        valid: What is valid, for messages about an argument ("an integer from 0 to 10").
        valid_text: What is valid, for messages about a variable (differs for :func:`flag`).
    """

    __slots__ = ("accepts", "parse", "valid", "valid_text")

    def __init__(
        self,
        parse: Callable[[str], T],
        accepts: Callable[[Any], bool],
        valid: str,
        valid_text: str | None = None,
    ) -> None:
        self.parse = parse
        self.accepts = accepts
        self.valid = valid
        self.valid_text = valid if valid_text is None else valid_text

    def __repr__(self) -> str:
        return f"Check({self.valid!r})"

    def validate(self, name: str, value: T, *, setting: str | None = None, also: str = "") -> T:
        """``value`` if it is valid; else a :class:`ConfigurationError` naming ``name``.

        Args:
            name: The argument as the caller typed it (``"read_timeout"``).
            value: The value passed.
            setting: The setting's name in the context, if it differs from ``name``.
            also: Appended to what is valid (``" or None"``).

        Example:
            >>> seconds(allow_zero=True).validate("backoff", 0.5)
            0.5
        """
        if not self.accepts(value):
            raise ConfigurationError(
                f"Invalid {name}={value!r}; expected {self.valid}{also}.",
                setting=name if setting is None else setting,
                argument=name,
                value=value,
            )
        return value


_SECONDS: Check[float] = Check(parse_float, positive_seconds, "a finite number of seconds > 0")
_SECONDS_OR_ZERO: Check[float] = Check(parse_float, non_negative_seconds, "a finite number of seconds >= 0")
_FLAG: Check[bool] = Check(
    _parse_flag,
    _is_bool,
    "True or False",
    "one of 1, 0, true, false, yes, no, on, off",
)


def seconds(*, allow_zero: bool = False, below: float | None = None) -> Check[float]:
    """A finite number of seconds, > 0 (or >= 0 with ``allow_zero``); ints and floats, never bools.

    Args:
        allow_zero: Accept 0 (a margin, a backoff), not only positive values.
        below: An exclusive upper bound, where a longer wait cannot be meant.

    Example:
        >>> seconds().accepts(2), seconds().accepts(True), seconds().accepts(float("inf"))
        (True, False, False)
        >>> seconds(below=3600).valid
        'a number of seconds > 0 and < 3600'
    """
    base = _SECONDS_OR_ZERO if allow_zero else _SECONDS
    if below is None:
        return base
    within = base.accepts

    def accepts(value: object) -> bool:
        return within(value) and value < below  # type: ignore[operator]  # a number, by within()

    return Check(parse_float, accepts, f"a number of seconds {'>=' if allow_zero else '>'} 0 and < {below:g}")


def integer(lo: int, hi: int | None = None) -> Check[int]:
    """An ``int`` from ``lo`` to ``hi`` inclusive (no upper bound if ``hi`` is None); never a bool.

    Example:
        >>> integer(1, 9).accepts(9), integer(1, 9).accepts(True), integer(0).valid
        (True, False, 'an integer >= 0')
    """
    if hi is None:

        def accepts(value: object) -> bool:
            return value is not True and value is not False and isinstance(value, int) and lo <= value

        return Check(parse_int, accepts, f"an integer >= {lo}")

    def accepts_range(value: object) -> bool:
        return value is not True and value is not False and isinstance(value, int) and lo <= value <= hi

    return Check(parse_int, accepts_range, f"an integer from {lo} to {hi}")


def choice(*values: str) -> Check[str]:
    """One of ``values``; a variable's text is stripped and lower-cased first.

    Example:
        >>> choice("json", "proto").parse(" Proto "), choice("json", "proto").valid
        ('proto', "'json' or 'proto'")
    """
    quoted = [repr(value) for value in values]
    valid = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def accepts(value: object) -> bool:
        return isinstance(value, str) and value in values

    return Check(_parse_text, accepts, valid)


def flag() -> Check[bool]:
    """``True`` or ``False`` (not 1, not "yes"); a variable may say 1/0, true/false, yes/no, on/off.

    Example:
        >>> flag().accepts(True), flag().accepts(1), flag().parse("on")
        (True, False, True)
    """
    return _FLAG


# -- resolution ---------------------------------------------------------------------------


def resolve(
    setting: str,
    explicit: T | _Unset,
    default: T,
    parse: Callable[[str], T] | Check[T],
    *,
    argument: str | None = None,
    check: Callable[[T], bool] | None = None,
    valid: str = "",
    fallbacks: tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> T:
    """Resolve one setting: explicit argument > ``LAMBDA_KIT_<SETTING>`` > fallbacks > default.

    Args:
        setting: The setting's name in snake case; the environment variable is
            ``LAMBDA_KIT_`` plus its upper-case form (``http_timeout`` ->
            ``LAMBDA_KIT_HTTP_TIMEOUT``). Always in the error's context.
        explicit: The value the caller passed, or :data:`UNSET`.
        default: The value used when neither the argument nor a variable is set
            (the library's own choice: never checked).
        parse: A :class:`Check` (parser, validity and description in one), or a
            function turning the variable's text into a value (``ValueError`` on bad text).
        argument: The argument as the user typed it (``"timeout"``); an invalid
            explicit value is reported under this name, and it joins the error's
            context. Defaults to ``setting``.
        check: Whether a value (explicit or parsed) is acceptable; overrides the Check's.
        valid: What is valid, for the message; overrides the Check's.
        fallbacks: Other variables read, in order, when ours is unset or blank (a
            peer library's, for users migrating). Each is read only when every one
            before it is unset or blank; the one used is named on error.
        environ: The environment to read (``os.environ`` by default).

    Returns:
        The resolved value.

    Raises:
        ConfigurationError: The explicit value or the variable's value is invalid.
            Context: ``setting``, ``argument`` (when given), ``variable`` (when the
            value came from one) and ``value``.

    Example:
        >>> resolve("secrets_ttl", UNSET, 300.0, parse_float, environ={"LAMBDA_KIT_SECRETS_TTL": "60"})
        60.0
    """
    valid_text = valid
    if isinstance(parse, Check):
        if check is None:
            check = parse.accepts
        if not valid:
            valid, valid_text = parse.valid, parse.valid_text
        parse = parse.parse
    where = {"setting": setting} if argument is None else {"setting": setting, "argument": argument}

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
                f"Invalid {argument or setting}={explicit!r}; expected {valid or 'a valid value'}.",
                **where,
                value=explicit,
            )
        return explicit
    env = os.environ if environ is None else environ
    for variable in (PREFIX + setting.upper(), *fallbacks):
        raw = env.get(variable)
        if raw is not None and raw.strip() != "":
            break
    else:
        return default
    try:
        value = parse(raw)
    except ValueError as error:
        raise ConfigurationError(
            f"Invalid {variable}={raw!r}: {error}; expected {valid_text or 'a valid value'}.",
            **where,
            variable=variable,
            value=raw,
        ) from None
    if not acceptable(value):
        raise ConfigurationError(
            f"Invalid {variable}={raw!r}; expected {valid_text or 'a valid value'}.",
            **where,
            variable=variable,
            value=raw,
        )
    return value
