"""Importing lambda-kit is cheap and side-effect free, and its public names are pinned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lambda_kit
import lambda_kit.emulator

ROOT = Path(__file__).resolve().parent.parent

HEAVY = [
    "boto3",
    "botocore",
    "urllib3",
    "pydantic",
    "google.protobuf",
    "aiohttp",
    "asyncio",
    "moto",
    "aws_embedded_metrics",
]

MODULES = [
    "lambda_kit",
    "lambda_kit.exceptions",
    "lambda_kit.lifecycle",
    "lambda_kit.testing",
    "lambda_kit.emulator",
    "lambda_kit.emulator.bench",
    "lambda_kit.aws",
    "lambda_kit.handler",
    "lambda_kit.http",
    "lambda_kit.metrics",
    "lambda_kit.protobuf",
    "lambda_kit.secrets",
    "lambda_kit.testing.events",
]


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter and return its output."""
    # Without coverage's subprocess hooks (pytest-cov sets them): they import much more than we do.
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def modules_after_import(module: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter after ``import <module>``."""
    return set(run_python(f"import sys\nimport {module}\nprint('\\n'.join(sorted(sys.modules)))").split())


def test_baseline_interpreter_loads_none_of_the_heavy_modules() -> None:
    # Guards the tests below: a clean interpreter must not already hold what they look for.
    loaded = modules_after_import("os")
    assert not [name for name in [*HEAVY, "typing"] if name in loaded]


# What each module defers beyond HEAVY: the standard-library modules it imports only on
# first use (each costs milliseconds of INIT), and lambda-kit modules it loads lazily.
DEFERRED = {
    "lambda_kit.metrics": [
        "typing",
        "json",
        "re",
        "threading",
        "lambda_kit.lifecycle",
        "lambda_kit.exceptions",
    ],
    "lambda_kit.secrets": [
        "typing",
        "logging",
        "json",
        "http.client",
        "lambda_kit._secrets_backends",
        "lambda_kit.lifecycle",
    ],
    "lambda_kit.http": ["typing", "json", "random", "ssl", "email", "lambda_kit._http_pool"],
    "lambda_kit.aws": ["typing", "lambda_kit.http", "lambda_kit.lifecycle"],
    "lambda_kit.protobuf": ["typing", "json", "zlib", "re", "http", "google"],
    "lambda_kit.handler": [
        "typing",
        "json",
        "threading",
        "logging",
        "lambda_kit._batch",
        "lambda_kit._coerce",
    ],
    "lambda_kit.lifecycle": [
        "typing",
        "threading",
        "functools",
        "lambda_kit.exceptions",
        "snapshot_restore_py",
    ],
}


@pytest.mark.parametrize("module", MODULES)
def test_import_loads_only_the_standard_library(module: str) -> None:
    loaded = modules_after_import(module)

    assert module in loaded
    offending = [name for name in [*HEAVY, *DEFERRED.get(module, [])] if name in loaded]
    assert not offending, offending


def test_import_lambda_kit_is_lazy() -> None:
    loaded = modules_after_import("lambda_kit")

    assert "typing" not in loaded
    submodules = sorted(name for name in loaded if name.startswith("lambda_kit."))
    assert not submodules, submodules


def test_attribute_access_imports_the_defining_module() -> None:
    run_python(
        "import sys, lambda_kit\n"
        "assert 'lambda_kit.exceptions' not in sys.modules\n"
        "lambda_kit.ConfigurationError\n"
        "assert 'lambda_kit.exceptions' in sys.modules\n"
        "assert 'lambda_kit.lifecycle' not in sys.modules\n"
    )


# -- public names -----------------------------------------------------------------------


def test_lambda_kit_all_is_pinned() -> None:
    assert lambda_kit.__all__ == [
        "ConfigurationError",
        "Emulator",
        "EmulatorError",
        "HTTPError",
        "HandlerError",
        "HandlerNotReadyError",
        "LambdaContext",
        "LambdaKitError",
        "LifecycleHookError",
        "Metrics",
        "MetricsError",
        "Parameter",
        "ProtobufError",
        "Secret",
        "SecretError",
        "__version__",
        "is_cold_start",
        "on_after_restore",
        "on_before_snapshot",
        "track_invocations",
    ]


def test_emulator_all_is_pinned() -> None:
    assert lambda_kit.emulator.__all__ == [
        "AwsStandIn",
        "Emulator",
        "ImportTiming",
        "Invocation",
        "Report",
        "TLSServer",
    ]


@pytest.mark.parametrize("package", [lambda_kit, lambda_kit.emulator], ids=lambda package: package.__name__)
def test_every_public_name_resolves_and_is_listed(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names)
    listed = dir(package)
    for name in names:
        assert getattr(package, name) is not None, name
        assert name in listed, name


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from lambda_kit import exceptions, lifecycle
    from lambda_kit._types import LambdaContext
    from lambda_kit.emulator._emulator import Emulator

    assert lambda_kit.ConfigurationError is exceptions.ConfigurationError
    assert lambda_kit.LifecycleHookError is exceptions.LifecycleHookError
    assert lambda_kit.is_cold_start is lifecycle.is_cold_start
    assert lambda_kit.track_invocations is lifecycle.track_invocations
    assert lambda_kit.LambdaContext is LambdaContext
    assert lambda_kit.Emulator is Emulator
    assert lambda_kit.emulator.Emulator is Emulator


@pytest.mark.parametrize("package", [lambda_kit, lambda_kit.emulator], ids=lambda package: package.__name__)
def test_unknown_attribute_raises_attribute_error(package: object) -> None:
    with pytest.raises(AttributeError, match="no_such_name") as info:
        package.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    assert package.__name__ in str(info.value)  # type: ignore[attr-defined]
    assert not hasattr(package, "Secrets")


def test_from_import_of_an_unknown_name_fails() -> None:
    with pytest.raises(ImportError, match="does_not_exist"):
        from lambda_kit import does_not_exist  # type: ignore[attr-defined]  # noqa: F401


# -- version ----------------------------------------------------------------------------


def test_version_matches_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    assert lambda_kit.__version__ == project["version"]
