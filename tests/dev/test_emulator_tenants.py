"""Tenant isolation mode in ``Emulator.invoke`` and ``lambda-kit invoke --tenant-id``.

Lambda's ``TenancyConfig`` ``PER_TENANT``: every invocation names its tenant, an
execution environment serves one tenant only, and the runtime receives the id
(``context.tenant_id``). Tenant ids follow the Invoke API's constraints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev._cli import main
from lambda_kit_dev.emulator import Emulator, ManagedInstancesEmulator, SnapStartEmulator

pytestmark = pytest.mark.emulator

HANDLER = "runtime_api.context_info"


def test_each_tenant_has_environments_of_its_own(handlers: Path) -> None:
    with Emulator(HANDLER, task_root=handlers, tenant_isolation=True, max_environments=4) as function:
        first = function.invoke({"n": 1}, tenant_id="acme")
        other = function.invoke({"n": 2}, tenant_id="globex")  # acme's environment is idle, not shared
        again = function.invoke({"n": 3}, tenant_id="acme")
        other_again = function.invoke({"n": 4}, tenant_id="globex")
        assert function.environments == 2

    assert [i.json()["tenant_id"] for i in (first, other, again, other_again)] == [
        "acme",
        "globex",
        "acme",
        "globex",
    ]
    assert [i.report.cold for i in (first, other, again, other_again)] == [True, True, False, False]


def test_a_full_emulator_makes_room_from_another_tenants_idle_environment(handlers: Path) -> None:
    with Emulator(HANDLER, task_root=handlers, tenant_isolation=True, max_environments=1) as function:
        colds = [function.invoke({}, tenant_id=tenant).report.cold for tenant in ("a", "b", "b", "a")]
        assert function.environments == 1
    assert colds == [True, True, False, True]  # never throttled: idle environments are not busy


@pytest.mark.parametrize("tenant", ["acme#1", "", "x" * 257, "line\nbreak", "caf\u00e9"])
def test_tenant_ids_lambda_refuses_are_refused(handlers: Path, tenant: str) -> None:
    with Emulator(HANDLER, task_root=handlers, tenant_isolation=True) as function:
        with pytest.raises(ConfigurationError, match="Invalid tenant id"):
            function.invoke({}, tenant_id=tenant)
        assert function.environments == 0  # refused before any environment starts


def test_every_character_and_length_lambda_takes_reaches_the_context(handlers: Path) -> None:
    tenant = "aZ09._:/=+-@ " + "t" * 243  # 256 characters, every kind the Invoke API allows
    with Emulator(HANDLER, task_root=handlers, tenant_isolation=True) as function:
        assert function.invoke({}, tenant_id=tenant).json()["tenant_id"] == tenant


def test_the_mode_and_the_tenant_id_go_together(handlers: Path) -> None:
    with (
        Emulator(HANDLER, task_root=handlers, tenant_isolation=True) as isolated,
        pytest.raises(ConfigurationError, match="needs a tenant id"),
    ):
        isolated.invoke({})
    with Emulator(HANDLER, task_root=handlers) as shared:
        with pytest.raises(ConfigurationError, match="not in tenant isolation mode"):
            shared.invoke({}, tenant_id="acme")
        assert shared.invoke({}).json()["tenant_id"] is None


def test_snapstart_and_managed_instances_refuse_tenant_isolation(handlers: Path) -> None:
    with pytest.raises(ConfigurationError, match="SnapStart and tenant isolation"):
        SnapStartEmulator(HANDLER, task_root=handlers, tenant_isolation=True)
    with pytest.raises(ConfigurationError, match="Managed Instances"):
        ManagedInstancesEmulator(HANDLER, task_root=handlers, tenant_isolation=True, max_concurrency=2)


def test_the_invoke_command_takes_a_tenant_id(
    handlers: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(handlers)
    assert main(["invoke", HANDLER, "--tenant-id", "blue"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["tenant_id"] == "blue"
    assert "REPORT RequestId:" in err

    assert main(["invoke", HANDLER, "--tenant-id", "not#valid"]) == 2
    out, err = capsys.readouterr()
    assert "Invalid tenant id 'not#valid'" in err
    assert out == ""
