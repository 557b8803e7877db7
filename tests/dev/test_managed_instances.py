"""Lambda Managed Instances: several invocations at once in one execution environment."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator._managed import ManagedInstancesEmulator
from lambda_kit_dev.stand_ins import AwsStandIn

pytestmark = pytest.mark.emulator
REPOSITORY = Path(__file__).resolve().parents[2]


def test_concurrent_invocations_share_one_environment_and_init_runs_per_worker(
    handlers: Path, aws: AwsStandIn
) -> None:
    secret_id = f"managed/{secrets.token_hex(4)}"
    aws.client("secretsmanager").create_secret(Name=secret_id, SecretString="s3cret-value")
    with ManagedInstancesEmulator(
        "managed.handler",
        max_concurrency=3,
        max_environments=1,
        timeout_s=1.5,
        task_root=handlers,
        python_path=[REPOSITORY],
        aws=aws,
        env={"SECRET_ID": secret_id},
    ) as function:
        results = function.invoke_all([{"seconds": 0.6}] * 3, concurrency=3)
        environment = function._pool[0]
        late = function.invoke({"seconds": 2.5})  # times out; its worker runs on
        after = function.invoke({"seconds": 0.05})
        deadline = time.monotonic() + 5
        while environment.stale_posts == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert function.environments == 1
    bodies = [json.loads(result.payload) for result in results]
    assert all(result.ok for result in results)
    assert len({body["pid"] for body in bodies}) == 3  # one worker process each
    assert max(body["started"] for body in bodies) < min(body["ended"] for body in bodies)  # at once
    assert all(0 < body["remaining_ms"] <= 1500 for body in bodies)  # each its own deadline
    assert all(0 < body["lambda_kit_remaining_s"] <= 1.5 for body in bodies)  # lambda-kit's view of it
    assert all(body["secret_length"] == len("s3cret-value") for body in bodies)
    # INIT ran in every worker: one GetSecretValue each
    init_calls = [result.init_aws_calls for result in results if result.cold]
    assert init_calls == [{"secretsmanager.GetSecretValue": 3}]
    assert environment.init_calls == {"secretsmanager.GetSecretValue": 3}
    assert environment.memory_mb is not None
    # EMF lines from workers writing at once are never interleaved
    lines = [line for result in results for line in result.output.splitlines() if '"_aws"' in line]
    assert len(lines) == 3
    for line in lines:
        assert len(json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"]) == 20
    assert "s3cret-value" not in "".join(result.output for result in results)
    # a timed-out invocation does not end the environment; its late response is refused (410)
    assert late.report.status == "timeout"
    assert after.ok
    assert not after.cold
    assert environment.stale_posts == 1


def test_max_concurrency_is_checked(handlers: Path) -> None:
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        ManagedInstancesEmulator("basic.echo", max_concurrency=0, task_root=handlers)
