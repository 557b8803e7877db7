"""lambda-kit's pytest plugin: its fixtures in this session, and in a user's project run by pytest.

The user's project is made of the files docs/testing.md shows (each code block with a
``title="..."``), run as a user runs them: ``python -m pytest`` in its own directory, with
its own ``conftest.py``, the plugin loaded through its installed ``pytest11`` entry point.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lambda_kit.exceptions import ConfigurationError, SecretError
from lambda_kit.testing import CapturedMetrics, FakeContext
from lambda_kit_dev.stand_ins import AwsStandIn

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
_BLOCK = re.compile(r'^( *)```\w+ title="([^"]+)"\n(.*?)^\1```$', re.MULTILINE | re.DOTALL)


def documented_files() -> dict[str, str]:
    """The files docs/testing.md shows, by name (a titled code block each)."""
    found = {
        name: textwrap.dedent(body) for _, name, body in _BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    }
    assert {"app.py", "conftest.py", "test_app.py", "seed.yaml", "pyproject.toml"} <= set(found)
    return found


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` in ``project``, as its user would run it (this interpreter's plugins)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_")) and key != "PYTHONPATH"
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# A user's extra tests: what loading the plugin imports, and that every test's stand-in
# starts from the seed alone.
_LIGHT = """
import sys

def test_loading_the_plugin_imported_nothing_heavy(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("lambda_kit")
    heavy = {"boto3", "botocore", "moto", "lambda_kit_dev.emulator", "lambda_kit_dev.stand_ins",
             "lambda_kit.testing", "lambda_kit.secrets"}
    assert heavy.isdisjoint(sys.modules)
"""
_ISOLATION = """
import sys

def names(aws):
    return sorted(s["Name"] for s in aws.client("secretsmanager").list_secrets()["SecretList"])

def test_one_creates(lambda_aws):
    assert "app" not in sys.modules  # test_app.py's lambda_import forgot it; boto3 stays
    assert "boto3" in sys.modules
    lambda_aws.add({"secrets": {"left-over": "x"}})
    assert names(lambda_aws) == ["left-over", "prod/db"]

def test_the_next_sees_the_seed_alone(lambda_aws):
    assert names(lambda_aws) == ["prod/db"]
"""


def test_a_users_project_tests_a_handler_that_fetches_at_init(tmp_path: Path) -> None:
    files = documented_files()
    for name in ("app.py", "conftest.py", "test_app.py"):
        (tmp_path / name).write_text(files[name], encoding="utf-8")
    (tmp_path / "test_0_light.py").write_text(_LIGHT, encoding="utf-8")
    (tmp_path / "test_isolation.py").write_text(_ISOLATION, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n", encoding="utf-8")

    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "7 passed" in done.stdout, done.stdout[-2000:]


def test_a_users_project_seeds_from_the_file_its_configuration_names(tmp_path: Path) -> None:
    files = documented_files()
    for name in ("app.py", "test_app.py", "seed.yaml", "pyproject.toml"):
        (tmp_path / name).write_text(files[name], encoding="utf-8")
    (tmp_path / "test_seed_file.py").write_text(
        "def test_every_entry(lambda_aws):\n"
        "    ssm = lambda_aws.client('ssm')\n"
        "    assert ssm.get_parameter(Name='/shop/hosts')['Parameter']['Type'] == 'StringList'\n"
        "    assert ssm.get_parameter(Name='/shop/token')['Parameter']['Type'] == 'SecureString'\n"
        "    sm = lambda_aws.client('secretsmanager')\n"
        "    assert sm.get_secret_value(SecretId='prod/api-key')['SecretString'] == 'k-123'\n",
        encoding="utf-8",
    )
    done = run_pytest(tmp_path, "-k", "whoami or every_entry")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed, 3 deselected" in done.stdout, done.stdout[-2000:]


# -- the fixtures in this session (the plugin is installed here too) --------------------


def test_context_events_and_metrics(
    lambda_context: FakeContext, lambda_events: Any, lambda_metrics: CapturedMetrics
) -> None:
    from lambda_kit.metrics import Metrics

    assert isinstance(lambda_context, FakeContext)
    assert 0 < lambda_context.get_remaining_time_in_millis() <= 3000
    assert lambda_events.sqs(["a", "b"])["Records"][1]["body"] == "b"
    Metrics(namespace="Shop", service="t").put_metric("Seen", 2, "Count").flush()
    assert lambda_metrics.values("Seen") == [2]


def write_module(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")


_FETCHING = """
    from lambda_kit.secrets import Secret
    import plugin_helper_mod

    TOKEN = Secret("svc/token").prefetch()

    def handler(event, context):
        return {"token": TOKEN.value, "helper": plugin_helper_mod.NAME}
"""


def test_lambda_import_runs_init_against_the_stand_in_and_forgets_it(
    lambda_aws: AwsStandIn, lambda_import: Any, tmp_path: Path
) -> None:
    code = tmp_path / "src"
    write_module(code, "plugin_fetching_app", _FETCHING)
    write_module(code, "plugin_helper_mod", "NAME = 'helper'\n")
    assert os.environ["AWS_ENDPOINT_URL"] == lambda_aws.endpoint_url
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull

    lambda_aws.add({"secrets": {"svc/token": "t-1"}})
    app = lambda_import("plugin_fetching_app", path=code)
    assert app.handler({}, None) == {"token": "t-1", "helper": "helper"}

    lambda_aws.add({"secrets": {"svc/token": "t-2"}})
    again = lambda_import("plugin_fetching_app", path=code)  # a second cold start
    assert again is not app
    assert again.handler({}, None)["token"] == "t-2"

    lambda_aws.client("secretsmanager").delete_secret(SecretId="svc/token", ForceDeleteWithoutRecovery=True)
    with pytest.raises(SecretError, match="ResourceNotFoundException"):
        lambda_import("plugin_fetching_app", path=code)  # INIT fails, as it would on Lambda
    assert "plugin_fetching_app" not in sys.modules


def test_lambda_import_finds_a_module_on_the_path_and_forgets_its_package(
    lambda_import: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "plugin_pkg"
    write_module(package, "__init__", "")
    write_module(package, "handler_mod", "from plugin_pkg import helper_mod\nVALUE = helper_mod.VALUE\n")
    write_module(package, "helper_mod", "VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert lambda_import("plugin_pkg.handler_mod").VALUE == 41
    assert "plugin_pkg.helper_mod" in sys.modules  # forgotten when the test ends (next test)


def test_the_package_of_the_test_above_was_forgotten() -> None:
    assert "plugin_pkg" not in sys.modules
    assert "plugin_pkg.helper_mod" not in sys.modules


def test_lambda_aws_points_only_at_the_stand_in(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://secretsmanager.example")
    stand_in: AwsStandIn = request.getfixturevalue("lambda_aws")
    assert "AWS_PROFILE" not in os.environ
    assert "AWS_ENDPOINT_URL_SECRETS_MANAGER" not in os.environ
    assert {key: os.environ[key] for key in stand_in.environ()} == stand_in.environ()


def test_per_test_server_resets_between_uses_and_reads_the_seed_each_time() -> None:
    from lambda_kit_dev.pytest_plugin._fixtures import _PerTestServer

    server = _PerTestServer()
    try:
        first = server.acquire({"secrets": {"a": "1"}})
        first.add({"secrets": {"b": "2"}})
        second = server.acquire({"secrets": {"c": "3"}})
        assert second is first
        listed = second.client("secretsmanager").list_secrets()["SecretList"]
        assert sorted(s["Name"] for s in listed) == ["c"]
        with pytest.raises(ConfigurationError, match="unknown key"):
            server.acquire({"secret": {}})
        second.stop()  # a test stopped it: the next one gets it started again, from the seed
        third = server.acquire({"secrets": {"d": "4"}})
        assert third.running
        assert [s["Name"] for s in third.client("secretsmanager").list_secrets()["SecretList"]] == ["d"]
    finally:
        server.close()
    assert not first.running


def test_the_session_stand_in_leaves_the_environment_alone(lambda_aws_session: AwsStandIn) -> None:
    assert lambda_aws_session.running
    assert "AWS_ENDPOINT_URL" not in os.environ
    lambda_aws_session.add({"secrets": {"session": "s"}})
    listed = lambda_aws_session.client("secretsmanager").list_secrets()["SecretList"]
    assert [s["Name"] for s in listed] == ["session"]
    lambda_aws_session.reset()


def test_lambda_emulator_runs_the_task_root_against_lambda_aws(
    lambda_aws: AwsStandIn, lambda_emulator: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    write_module(tmp_path, "plugin_fetching_app", _FETCHING)
    write_module(tmp_path, "plugin_helper_mod", "NAME = 'runtime'\n")
    lambda_aws.add({"secrets": {"svc/token": "t-9"}})
    function = lambda_emulator("plugin_fetching_app.handler", task_root=tmp_path)
    result = function.invoke({})
    assert result.ok, result.error
    assert result.json() == {"token": "t-9", "helper": "runtime"}
    assert result.init_aws_calls == {"secretsmanager.GetSecretValue": 1}
    assert result.aws_calls == {}
    assert function.aws is lambda_aws
    bare = lambda_emulator("plugin_helper_mod.handler", aws=False)
    assert bare.aws is None
    assert bare.config.task_root == str(request.config.rootpath)  # no lambda_task_root setting here


def test_seed_and_task_root_settings_are_relative_to_the_configuration(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.pytest_plugin._fixtures import _ini_path

    assert _ini_path(pytestconfig, "lambda_aws_seed") is None
    values = {"lambda_aws_seed": " seed.yaml ", "lambda_task_root": ""}
    original = pytestconfig.getini
    monkeypatch.setattr(
        pytestconfig, "getini", lambda name: values[name] if name in values else original(name)
    )
    base = pytestconfig.inipath.parent if pytestconfig.inipath else pytestconfig.rootpath
    assert _ini_path(pytestconfig, "lambda_aws_seed") == os.path.join(base, "seed.yaml")
    assert _ini_path(pytestconfig, "lambda_task_root") is None


def test_user_code_excludes_installed_packages(tmp_path: Path) -> None:
    import types

    from lambda_kit_dev.pytest_plugin._fixtures import _user_code

    module = types.ModuleType("m")
    assert not _user_code(module, str(tmp_path))  # no file
    module.__file__ = str(tmp_path / "m.py")
    assert _user_code(module, str(tmp_path))
    module.__file__ = str(tmp_path / ".venv" / "lib" / "site-packages" / "m.py")
    assert not _user_code(module, str(tmp_path))
    module.__file__ = json.__file__
    assert not _user_code(module, os.path.dirname(os.path.dirname(json.__file__)))
