"""Calling a core function, sync or async: what every adapter shares (internal).

A core function is a plain typed function that never sees an event; an adapter
reads its first parameter's annotation (:func:`core_parameter_type`) once, at INIT,
and calls it per request or record. ``async def`` cores work too: Lambda gives a
handler no running event loop, so the adapter makes one per invocation and closes
it before returning (a batch shares one loop across its records, :meth:`Runner.run_all`).
``asyncio`` is imported only when an async core is first called.

Example:
    >>> async def double(value: int) -> int:
    ...     return value * 2
    >>> run_async(double, {"value": 21})
    42
    >>> Runner(double).is_async
    True
"""

from __future__ import annotations

from lambda_kit._util import is_coroutine_function

TYPE_CHECKING = False
if TYPE_CHECKING:
    import inspect
    from collections.abc import Callable
    from typing import Any

__all__ = ["Runner", "core_parameter_type", "run_async", "split_parameters"]


class Runner:
    """Calls a sync or async core; async cores share one event loop per invocation."""

    __slots__ = ("core", "is_async")

    def __init__(self, core: Callable[..., Any]) -> None:
        self.core = core
        self.is_async = is_coroutine_function(core)

    def run_all(self, calls: Callable[[Callable[[Any], Any]], Any]) -> Any:
        """``calls(call)``, where ``call(payload)`` runs the core on one payload and returns its result."""
        if not self.is_async:
            return calls(self.core)
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            return calls(lambda payload: loop.run_until_complete(self.core(payload)))
        finally:
            loop.close()


def run_async(core: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """``await core(**kwargs)`` on an event loop of its own, closed before returning."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(core(**kwargs))
    finally:
        loop.close()


def split_parameters(
    core: Callable[..., Any], context_type: type, too_many: Callable[[str], str], setting: str
) -> tuple[str | None, inspect.Parameter | None, Any]:
    """A core's parameter annotated ``context_type`` (its name), and its one other parameter.

    Returns the name of the parameter annotated exactly ``context_type`` (or ``None``),
    the other parameter (or ``None``) and that one's annotation (``Any`` when absent or
    when the annotations cannot be resolved: the value is then passed as it is).

    Raises:
        ConfigurationError: A second parameter not annotated ``context_type``; the
            message is ``too_many(its name)``.
    """
    import inspect
    import typing

    try:
        hints = typing.get_type_hints(core)
    except Exception:  # unresolvable annotations: take the value as it is
        hints = {}
    context_name: str | None = None
    value: inspect.Parameter | None = None
    value_type: Any = typing.Any
    for parameter in inspect.signature(core).parameters.values():
        tp = hints.get(parameter.name, typing.Any)
        if tp is context_type:
            context_name = parameter.name
        elif value is None:
            value, value_type = parameter, tp
        else:
            from lambda_kit.exceptions import ConfigurationError

            raise ConfigurationError(too_many(parameter.name), setting=setting)
    return context_name, value, value_type


def core_parameter_type(core: Callable[..., Any]) -> Any:
    """The annotation of the core function's first parameter (``Any`` when absent).

    Looks through a callable object to its ``__call__`` and past ``self`` / ``cls``;
    annotations that cannot be resolved read as ``Any`` (the payload is passed as it is).
    """
    import typing

    code = getattr(core, "__code__", None)
    target = core if code is not None else getattr(core, "__call__", core)  # noqa: B004
    code = getattr(target, "__code__", None)
    if code is None or code.co_argcount == 0:
        return typing.Any
    first = code.co_varnames[0]
    if first in ("self", "cls") and code.co_argcount > 1:
        first = code.co_varnames[1]
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: take the payload as it is
        return typing.Any
    return hints.get(first, typing.Any)
