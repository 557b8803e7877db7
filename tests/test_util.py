"""lambda_kit._util: is_coroutine_function, random_unit and lazy_exports."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambda_kit._util import is_coroutine_function, lazy_exports, random_unit


async def async_handler(event: Any, context: Any) -> None:
    pass


def sync_handler(event: Any, context: Any) -> None:
    pass


async def async_generator() -> Any:
    yield 1


def sync_generator() -> Any:
    yield 1


class Handlers:
    async def async_method(self, event: Any) -> None:
        pass

    def sync_method(self, event: Any) -> None:
        pass

    @staticmethod
    async def async_static(event: Any) -> None:
        pass

    @classmethod
    async def async_class(cls, event: Any) -> None:
        pass


ASYNC: list[Callable[..., Any]] = [
    async_handler,
    functools.partial(async_handler, {}),
    functools.partial(functools.partial(async_handler, {}), None),
    Handlers().async_method,
    Handlers.async_method,
    Handlers.async_static,
    Handlers.async_class,
    functools.partial(Handlers().async_method, {}),
]

NOT_ASYNC: list[Any] = [
    sync_handler,
    functools.partial(sync_handler, {}),
    Handlers().sync_method,
    lambda event, context: None,
    async_generator,  # calling it returns an async generator, not a coroutine
    sync_generator,
    print,  # a builtin has no __code__
    42,
    None,
    "async_handler",
    Handlers,
]


@pytest.mark.parametrize("func", ASYNC)
def test_coroutine_functions(func: Callable[..., Any]) -> None:
    assert is_coroutine_function(func) is True
    assert inspect.iscoroutinefunction(func)  # agrees with the standard library


@pytest.mark.parametrize("func", NOT_ASYNC)
def test_everything_else_is_not(func: Any) -> None:
    assert is_coroutine_function(func) is False
    assert not inspect.iscoroutinefunction(func)


def test_raw_staticmethod_object() -> None:
    # What a decorator receives when it is stacked above @staticmethod.
    assert is_coroutine_function(Handlers.__dict__["async_static"]) is True
    assert is_coroutine_function(staticmethod(sync_handler)) is False


def test_lambda_returning_a_coroutine_is_not_a_coroutine_function() -> None:
    # Like inspect: only the code object's flags count, not what a call returns.
    assert is_coroutine_function(lambda: async_handler({}, None)) is False


# -- random_unit ------------------------------------------------------------------------


def test_random_unit_is_in_the_unit_interval_and_spread() -> None:
    draws = [random_unit() for _ in range(4000)]

    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert len(set(draws)) == len(draws)
    # Each tenth holds 400 draws on average; 250 is more than 7 standard deviations away.
    tenths = [sum(1 for draw in draws if low / 10 <= draw < (low + 1) / 10) for low in range(10)]
    assert min(tenths) > 250


def test_random_unit_comes_from_os_urandom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x00" * n)
    assert random_unit() == 0.0
    monkeypatch.setattr(os, "urandom", lambda n: b"\xff" * n)
    assert random_unit() == 1.0 - 2.0**-53  # 56 bits over 2**56 would round to 1.0
    assert random_unit() < 1.0
    monkeypatch.setattr(os, "urandom", lambda n: b"\x80" + b"\x00" * (n - 1))
    assert random_unit() == 0.5


def test_random_unit_ignores_the_random_module_state() -> None:
    import random

    state = random.getstate()
    first = random_unit()
    random.setstate(state)
    assert random_unit() != first


# -- lazy_exports -------------------------------------------------------------------------


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    """A throwaway module, registered in sys.modules as a real one is while it runs."""
    made = types.ModuleType("lambda_kit_test_lazy")
    made.__all__ = ["Secret", "fixture", "eager"]  # type: ignore[attr-defined]
    made.eager = 1  # type: ignore[attr-defined]
    sys.modules[made.__name__] = made
    yield made
    del sys.modules[made.__name__]


def test_lazy_name_is_imported_on_first_access_and_cached(module: types.ModuleType) -> None:
    from lambda_kit.secrets import Secret

    getattr_, dir_ = lazy_exports(module.__name__, {"Secret": "lambda_kit.secrets"})
    setattr(module, "__getattr__", getattr_)  # noqa: B010  # as `def __getattr__` in a module does
    setattr(module, "__dir__", dir_)  # noqa: B010

    assert "Secret" not in vars(module)
    assert module.Secret is Secret
    assert vars(module)["Secret"] is Secret  # cached: later lookups skip __getattr__


def test_lazy_name_loads_its_module(module: types.ModuleType) -> None:
    getattr_, _ = lazy_exports(module.__name__, {"dedent": "textwrap"})
    saved = sys.modules.pop("textwrap", None)
    try:
        import textwrap  # noqa: F401  # ensure it is importable, then unload it again

        del sys.modules["textwrap"]
        value = getattr_("dedent")
        assert "textwrap" in sys.modules
        assert value is sys.modules["textwrap"].dedent
    finally:
        if saved is not None:
            sys.modules["textwrap"] = saved


def test_lazy_name_built_by_a_factory_once(module: types.ModuleType) -> None:
    calls: list[int] = []

    def build() -> object:
        calls.append(1)
        return {"built": True}

    getattr_, _ = lazy_exports(module.__name__, {"fixture": build})
    setattr(module, "__getattr__", getattr_)  # noqa: B010

    assert module.fixture == {"built": True}
    assert module.fixture is module.fixture
    assert calls == [1]


def test_unknown_name_is_an_attribute_error(module: types.ModuleType) -> None:
    getattr_, _ = lazy_exports(module.__name__, {"Secret": "lambda_kit.secrets"})
    setattr(module, "__getattr__", getattr_)  # noqa: B010

    with pytest.raises(AttributeError, match=r"^module 'lambda_kit_test_lazy' has no attribute 'Nope'$"):
        module.Nope  # noqa: B018
    assert not hasattr(module, "Nope")
    assert getattr(module, "Nope", None) is None


def test_dir_lists_all_the_lazy_names_and_the_module_s_own(module: types.ModuleType) -> None:
    _, dir_ = lazy_exports(module.__name__, {"Secret": "lambda_kit.secrets", "_private": "textwrap"})
    setattr(module, "__dir__", dir_)  # noqa: B010

    names = dir(module)
    assert names == sorted(names)
    assert {"Secret", "fixture", "eager", "_private", "__name__"} <= set(names)
    assert "Secret" not in vars(module)  # listing never imports


def test_dir_without_all(module: types.ModuleType) -> None:
    del module.__all__
    _, dir_ = lazy_exports(module.__name__, {"Secret": "lambda_kit.secrets"})

    assert "Secret" in dir_()
    assert "eager" in dir_()
