"""Types shared by lambda-kit's public API (internal module; names re-exported)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["LambdaContext"]


@runtime_checkable
class LambdaContext(Protocol):
    """The Lambda context object, as the Python runtime passes it to a handler.

    Only the attributes lambda-kit reads are listed; both the real runtime's
    context and :class:`lambda_kit.testing.FakeContext` satisfy it.
    """

    @property
    def aws_request_id(self) -> str: ...

    @property
    def function_name(self) -> str: ...

    @property
    def function_version(self) -> str: ...

    @property
    def invoked_function_arn(self) -> str: ...

    @property
    def memory_limit_in_mb(self) -> Any: ...  # str in awslambdaric, int elsewhere

    @property
    def log_group_name(self) -> str: ...

    @property
    def log_stream_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
