"""Small standard-library helpers shared by lambda-kit modules (internal).

* :func:`is_coroutine_function`: ``inspect.iscoroutinefunction`` without importing ``inspect``.
* :func:`random_unit`: a jitter draw that differs between copies restored from one snapshot.
* :func:`lazy_exports`: a module's ``__getattr__`` and ``__dir__`` for names loaded on first use.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["is_coroutine_function", "lazy_exports", "random_unit"]

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


def random_unit() -> float:
    """A uniform float in [0, 1), drawn from ``os.urandom``, for retry and refresh jitter.

    Not the ``random`` module: every copy of a function restored from one SnapStart
    snapshot holds the same ``random`` state, and would wait in lockstep (and
    ``random`` is not loaded by the Lambda runtime, ``os`` is). 53 random bits, a
    float's whole mantissa: with more, a draw near 1 would round up to 1.0.

    Example:
        >>> 0.0 <= random_unit() < 1.0
        True
    """
    return (int.from_bytes(os.urandom(7), "big") >> 3) / 9007199254740992.0  # 2**53


def lazy_exports(
    module_name: str, table: Mapping[str, str | Callable[[], object]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for public names loaded on first access.

    Args:
        module_name: The module's ``__name__``.
        table: Each lazy name, mapped to the module that defines it under the same
            name (``"lambda_kit.secrets"``), or to a function that builds it (for a
            value made on first use, such as a pytest fixture).

    Returns:
        ``(__getattr__, __dir__)``, to assign at the module's top level. The first
        access imports (or builds) the value and stores it in the module, so later
        accesses are plain attribute reads. ``__dir__`` lists the module's names,
        ``__all__`` and the lazy names.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"Secret": "lambda_kit.secrets"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        source = table.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        if isinstance(source, str):
            __import__(source)  # the builtin: no importlib to load, and thread-safe like any import
            value = getattr(sys.modules[source], name)
        else:
            value = source()
        setattr(sys.modules[module_name], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        module = sys.modules[module_name]
        return sorted({*vars(module), *getattr(module, "__all__", ()), *table})

    return __getattr__, __dir__
