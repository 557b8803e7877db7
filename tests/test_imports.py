"""Importing lambda-kit is cheap and side-effect free, and its public names are pinned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lambda_kit
import lambda_kit_dev
import lambda_kit_dev.emulator
import lambda_kit_dev.layer
import lambda_kit_dev.stand_ins

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
    "lambda_kit_dev",
    "lambda_kit_dev.emulator",
    "lambda_kit_dev.bench",
    "lambda_kit_dev.stand_ins",
    "lambda_kit.aws",
    "lambda_kit.handler",
    "lambda_kit.http",
    "lambda_kit.metrics",
    "lambda_kit._emf",
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


@pytest.fixture(scope="module")
def runtime_preloads() -> list[str]:
    """The standard-library modules awslambdaric has imported before it imports a handler.

    Read under the real runtime client (through the emulator), not assumed: json, re,
    threading, logging, functools, weakref, decimal and enum are among them, typing,
    contextvars, base64, urllib.parse, http.client, ssl and random are not. Deferring a
    module the runtime has already loaded saves nothing at INIT.
    """
    from lambda_kit_dev import Emulator

    with Emulator("preloads.modules", task_root=ROOT / "tests" / "functions") as fn:
        names: list[str] = fn.invoke({}).json()
    return sorted(name for name in names if name.split(".")[0] in sys.stdlib_module_names)


def modules_after_runtime_and_import(module: str, preloads: list[str]) -> set[str]:
    """What ``import <module>`` adds to a fresh interpreter that holds the runtime's preloads."""
    code = (
        "import importlib, sys\n"
        f"for name in {preloads!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"  # private modules of other platforms, say
        "        pass\n"
        "before = set(sys.modules)\n"
        f"import {module}\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    return set(run_python(code).split())


# What each module defers beyond HEAVY: the standard-library modules the runtime has not
# loaded, which it imports only on first use (each costs INIT time), and the lambda-kit
# modules it loads lazily.
DEFERRED = {
    "lambda_kit.metrics": ["typing", "lambda_kit.lifecycle", "lambda_kit.exceptions"],
    "lambda_kit._emf": ["typing", "lambda_kit.exceptions", "lambda_kit.metrics"],
    "lambda_kit.secrets": ["typing", "http.client", "lambda_kit._secrets_backends", "lambda_kit.lifecycle"],
    "lambda_kit.http": ["typing", "random", "ssl", "email", "lambda_kit._http_pool"],
    "lambda_kit.aws": ["typing", "lambda_kit.http", "lambda_kit.lifecycle"],
    "lambda_kit.protobuf": ["typing", "zlib", "http", "google"],
    "lambda_kit.handler": ["typing", "lambda_kit.handler._batch", "lambda_kit.handler._coerce"],
    "lambda_kit.lifecycle": ["typing", "lambda_kit.exceptions", "snapshot_restore_py"],
}


def test_deferred_modules_are_ones_the_runtime_has_not_loaded(runtime_preloads: list[str]) -> None:
    listed = {name for names in DEFERRED.values() for name in names}
    assert "typing" not in runtime_preloads  # what the TYPE_CHECKING = False idiom saves
    assert "json" in runtime_preloads  # guards the reading itself
    assert not sorted(listed & set(runtime_preloads))


@pytest.mark.parametrize("module", MODULES)
def test_import_loads_only_the_standard_library(module: str) -> None:
    loaded = modules_after_import(module)

    assert module in loaded
    assert not [name for name in HEAVY if name in loaded]


@pytest.mark.parametrize("module", sorted(DEFERRED))
def test_import_under_the_runtime_defers_what_it_promises(module: str, runtime_preloads: list[str]) -> None:
    added = modules_after_runtime_and_import(module, runtime_preloads)

    assert module in added
    offending = [name for name in [*HEAVY, *DEFERRED[module]] if name in added]
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
        "HTTPError",
        "HandlerError",
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


def test_dev_tools_all_is_pinned() -> None:
    assert lambda_kit_dev.__all__ == [
        "AwsStandIn",
        "Emulator",
        "EmulatorError",
        "HandlerNotReadyError",
        "ImportTiming",
        "Invocation",
        "Report",
        "TLSServer",
    ]
    assert lambda_kit_dev.emulator.__all__ == [
        "Emulator",
        "Hazard",
        "ImportTiming",
        "Invocation",
        "ManagedInstancesEmulator",
        "Report",
        "SnapStartEmulator",
    ]
    assert lambda_kit_dev.stand_ins.__all__ == ["AwsStandIn", "TLSServer"]


LAZY_PACKAGES = [
    lambda_kit,
    lambda_kit_dev,
    lambda_kit_dev.emulator,
    lambda_kit_dev.layer,
    lambda_kit_dev.stand_ins,
]


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda package: package.__name__)
def test_every_public_name_resolves_and_is_listed(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert len(set(names)) == len(names)  # their order is ruff's (RUF022: constants, classes, functions)
    listed = dir(package)
    for name in names:
        assert getattr(package, name) is not None, name
        assert name in listed, name


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from lambda_kit import exceptions, lifecycle
    from lambda_kit._types import LambdaContext
    from lambda_kit_dev.emulator._emulator import Emulator

    assert lambda_kit.ConfigurationError is exceptions.ConfigurationError
    assert lambda_kit.LifecycleHookError is exceptions.LifecycleHookError
    assert lambda_kit.is_cold_start is lifecycle.is_cold_start
    assert lambda_kit.track_invocations is lifecycle.track_invocations
    assert lambda_kit.LambdaContext is LambdaContext
    assert lambda_kit_dev.Emulator is Emulator
    assert lambda_kit_dev.emulator.Emulator is Emulator
    assert not hasattr(lambda_kit, "Emulator")


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda package: package.__name__)
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
    # Python 3.10 has no tomllib; tomli, its origin, is there because pytest needs it on 3.10.
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    assert lambda_kit.__version__ == project["version"]


# -- the runtime package never reaches the development tools --------------------------


def _runtime_modules() -> list[str]:
    package = ROOT / "lambda_kit"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_no_runtime_module_names_the_dev_package_in_any_import() -> None:
    import ast

    offending = []
    for path in sorted((ROOT / "lambda_kit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):  # in functions and TYPE_CHECKING too
            if isinstance(node, ast.ImportFrom):
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                targets = [node.value]  # a module name for importlib or a lazy-export table
            else:
                continue
            if any(target.split(".")[0] == "lambda_kit_dev" for target in targets):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offending, offending


def test_importing_every_runtime_module_and_public_name_loads_nothing_of_the_dev_package() -> None:
    modules = _runtime_modules()
    assert "lambda_kit.handler" in modules
    assert "lambda_kit.testing.events" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    for public in getattr(module, '__all__', []):\n"
        "        getattr(module, public)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = set(run_python(code).split())
    assert "lambda_kit.handler" in loaded
    assert not [name for name in loaded if name.split(".")[0] == "lambda_kit_dev"]
