"""lambda_kit._util.is_coroutine_function: a cheap inspect.iscoroutinefunction."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from lambda_kit._util import is_coroutine_function


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
