"""Small standard-library helpers shared by lambda-kit modules (internal)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CO_COROUTINE = 0x0080


def is_coroutine_function(func: Any) -> bool:
    """Whether calling ``func`` returns a coroutine (``async def``).

    A cheap stand-in for ``inspect.iscoroutinefunction``: importing ``inspect`` costs
    several milliseconds of INIT, this costs nothing. Sees through
    ``functools.partial``, bound methods and objects with an ``async def __call__``.
    """
    partial = sys.modules.get("functools")  # no partial can exist before functools loads
    while partial is not None and isinstance(func, partial.partial):
        func = func.func
    func = getattr(func, "__func__", func)
    code = getattr(func, "__code__", None)
    if code is None and not isinstance(func, type):  # an object: its class's __call__ decides
        call = type(func).__call__ if callable(func) else None
        code = getattr(getattr(call, "__func__", call), "__code__", None)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)
