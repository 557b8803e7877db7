"""lambda_kit.handler._core: calling a core function, sync or async."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from lambda_kit.handler._core import Runner, core_parameter_type, run_async


@dataclass
class Order:
    order_id: str


def sync_core(order: Order) -> str:
    return order.order_id


async def async_core(order: Order) -> str:
    await asyncio.sleep(0)
    return order.order_id.upper()


def test_runner_calls_a_sync_core_directly() -> None:
    runner = Runner(sync_core)
    assert not runner.is_async
    assert runner.run_all(lambda call: [call(Order("a")), call(Order("b"))]) == ["a", "b"]


def test_runner_runs_an_async_core_on_one_loop_per_invocation_and_closes_it() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def core(order: Order) -> str:
        loops.append(asyncio.get_running_loop())
        return order.order_id

    runner = Runner(core)
    assert runner.is_async
    assert runner.run_all(lambda call: [call(Order("a")), call(Order("b"))]) == ["a", "b"]
    assert len(loops) == 2
    assert loops[0] is loops[1]  # one loop for the whole batch
    assert loops[0].is_closed()
    runner.run_all(lambda call: call(Order("c")))
    assert loops[2] is not loops[0]  # a new one for the next invocation


def test_run_async_awaits_the_core_with_keyword_arguments() -> None:
    assert run_async(async_core, {"order": Order("x")}) == "X"


def test_run_async_closes_its_loop_when_the_core_raises() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def failing() -> None:
        loops.append(asyncio.get_running_loop())
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        run_async(failing, {})
    assert loops[0].is_closed()


class Callable_:
    def __call__(self, order: Order) -> None: ...


class WithSelf:
    def method(self, order: Order) -> None: ...


def no_parameters() -> None: ...


def unannotated(order):  # type: ignore[no-untyped-def]
    return order


def unresolvable(order: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821


def test_core_parameter_type_reads_the_first_parameter() -> None:
    assert core_parameter_type(sync_core) is Order
    assert core_parameter_type(async_core) is Order
    assert core_parameter_type(Callable_()) is Order  # through __call__, past self
    assert core_parameter_type(WithSelf().method) is Order


def test_core_parameter_type_is_any_when_nothing_says_otherwise() -> None:
    assert core_parameter_type(no_parameters) is Any
    assert core_parameter_type(unannotated) is Any
    assert core_parameter_type(unresolvable) is Any
    assert core_parameter_type(len) is Any  # a builtin: no code to read
