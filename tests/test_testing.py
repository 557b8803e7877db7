"""lambda_kit.testing.FakeContext: the real context's attributes and a countdown clock."""

from __future__ import annotations

import math
import re
import time
import uuid

import pytest

from lambda_kit import LambdaContext
from lambda_kit.testing import FakeContext

# 2023-11-14T22:13:20Z
EPOCH = 1_700_000_000.0


class FakeClock:
    """A clock whose readings are the last value of a list: append to move time on."""

    def __init__(self, start: float = EPOCH) -> None:
        self.times = [start]

    def __call__(self) -> float:
        return self.times[-1]

    def advance(self, seconds: float) -> None:
        self.times.append(self.times[-1] + seconds)


def test_default_attributes() -> None:
    context = FakeContext(clock=FakeClock())

    assert context.function_name == "test-function"
    assert context.function_version == "$LATEST"
    assert context.memory_limit_in_mb == 128
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    assert context.log_group_name == "/aws/lambda/test-function"
    assert context.identity is None
    assert context.client_context is None
    assert context.tenant_id is None


def test_given_attributes() -> None:
    context = FakeContext(
        function_name="orders",
        memory_mb=1769,
        timeout_s=30,
        request_id="8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        function_version="7",
        region="eu-west-1",
        account_id="210987654321",
        clock=FakeClock(),
    )

    assert context.function_name == "orders"
    assert context.function_version == "7"
    assert context.memory_limit_in_mb == 1769
    assert context.aws_request_id == "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:210987654321:function:orders"
    assert context.log_group_name == "/aws/lambda/orders"


def test_log_stream_name_has_lambdas_format() -> None:
    context = FakeContext(function_version="12", clock=FakeClock(EPOCH))

    # Lambda's format: YYYY/MM/DD/[version]<32 hex digits>, dated in UTC.
    assert re.fullmatch(r"2023/11/14/\[12\][0-9a-f]{32}", context.log_stream_name)


def test_log_stream_names_are_unique() -> None:
    clock = FakeClock()
    assert FakeContext(clock=clock).log_stream_name != FakeContext(clock=clock).log_stream_name


def test_default_request_ids_are_unique_uuids() -> None:
    ids = {FakeContext(clock=FakeClock()).aws_request_id for _ in range(100)}

    assert len(ids) == 100
    for request_id in ids:
        assert str(uuid.UUID(request_id)) == request_id


def test_remaining_time_counts_down_with_the_clock() -> None:
    clock = FakeClock()
    context = FakeContext(timeout_s=3, clock=clock)

    assert context.get_remaining_time_in_millis() == 3000
    clock.advance(0.5)
    assert context.get_remaining_time_in_millis() == 2500
    clock.advance(2.25)
    assert context.get_remaining_time_in_millis() == 250
    clock.advance(0.25)
    assert context.get_remaining_time_in_millis() == 0


def test_remaining_time_never_goes_below_zero() -> None:
    clock = FakeClock()
    context = FakeContext(timeout_s=1, clock=clock)

    clock.advance(60)

    assert context.get_remaining_time_in_millis() == 0


def test_remaining_time_is_an_int() -> None:
    clock = FakeClock()
    context = FakeContext(timeout_s=0.25, clock=clock)
    clock.advance(0.0001)

    remaining = context.get_remaining_time_in_millis()

    assert isinstance(remaining, int)
    assert remaining == 249


def test_deadline_ms() -> None:
    context = FakeContext(timeout_s=3, clock=FakeClock(EPOCH))
    assert context.deadline_ms == EPOCH * 1000 + 3000


def test_default_clock_is_wall_time() -> None:
    before = time.time() * 1000
    context = FakeContext(timeout_s=900)
    after = time.time() * 1000

    assert before + 900_000 <= context.deadline_ms <= after + 900_000
    assert 0 < context.get_remaining_time_in_millis() <= 900_000


@pytest.mark.parametrize("memory_mb", [128, 1769, 10240])
def test_valid_memory(memory_mb: int) -> None:
    assert FakeContext(memory_mb=memory_mb, clock=FakeClock()).memory_limit_in_mb == memory_mb


@pytest.mark.parametrize("memory_mb", [0, 127, 10241, -128])
def test_invalid_memory_raises_value_error(memory_mb: int) -> None:
    with pytest.raises(ValueError, match=rf"memory_mb={memory_mb} is outside Lambda's 128-10240 MB range"):
        FakeContext(memory_mb=memory_mb)


@pytest.mark.parametrize("timeout_s", [0, 0.0, -1, -0.001, math.nan, math.inf, -math.inf])
def test_invalid_timeout_raises_value_error(timeout_s: float) -> None:
    # nan and inf would make get_remaining_time_in_millis raise from int() later.
    with pytest.raises(ValueError, match=rf"timeout_s={timeout_s} .*> 0"):
        FakeContext(timeout_s=timeout_s, clock=FakeClock())


def test_repr() -> None:
    context = FakeContext(function_name="orders", request_id="req-1", clock=FakeClock())
    assert repr(context) == "FakeContext(function_name='orders', aws_request_id='req-1')"


def test_satisfies_the_lambda_context_protocol() -> None:
    assert isinstance(FakeContext(clock=FakeClock()), LambdaContext)


def test_lambda_context_protocol_rejects_other_objects() -> None:
    # Guards the test above: the runtime check really looks at the attributes.
    class Partial:
        aws_request_id = "req-1"
        function_name = "orders"

    assert not isinstance(Partial(), LambdaContext)
    assert not isinstance(object(), LambdaContext)
