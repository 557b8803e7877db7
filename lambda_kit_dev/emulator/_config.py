"""The emulated function's configuration (internal)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# Only these are inherited from the caller's environment: a Lambda function starts
# with a clean environment, and real AWS credentials must never reach a local run.
INHERITED = ("PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "SYSTEMROOT")


@dataclass(frozen=True)
class FunctionConfig:
    handler: str
    task_root: str
    memory_mb: int
    timeout_s: float
    init_timeout_s: float
    env: dict[str, str]
    python: str
    function_name: str
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    count_aws_calls: bool = True
    python_path: tuple[str, ...] = ()
    # The layers' sys.path entries (after the task root), the read-only code directories
    # (task root, layers), and the layers' bin/ and lib/ (appended to PATH and
    # LD_LIBRARY_PATH, as Lambda does with /opt/bin and /opt/lib).
    layer_path: tuple[str, ...] = ()
    code_roots: tuple[str, ...] = ()
    layer_bin: str | None = None
    layer_lib: str | None = None
    base_environ: dict[str, str] = field(
        default_factory=lambda: {k: os.environ[k] for k in INHERITED if k in os.environ}
    )

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"


TENANT_ID_MAX = 256
"""The longest tenant id Lambda's Invoke API takes (``X-Amz-Tenant-Id``), in characters."""

_TENANT_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/=+-@ ")


def check_tenant_id(value: object, *, setting: str = "tenant_id") -> str:
    """``value`` if Lambda's Invoke API takes it as a tenant id, else a ConfigurationError.

    The API's constraints: 1 to 256 characters of ``[a-zA-Z0-9._:/=+-@ ]``.
    """
    from lambda_kit.exceptions import ConfigurationError

    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= TENANT_ID_MAX
        or not _TENANT_ID_CHARACTERS.issuperset(value)
    ):
        raise ConfigurationError(
            f"Invalid tenant id {value!r}; Lambda takes 1 to {TENANT_ID_MAX} characters of letters, "
            "digits, spaces and . _ : / = + - @.",
            setting=setting,
            value=value if isinstance(value, str) else repr(value),
        )
    return value
