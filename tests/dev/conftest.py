"""Fixtures of the development tools' tests: Lambda's python3.12 runtime, prepared once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator._python import Interpreter, runtime_environment
from lambda_kit_dev.exceptions import EmulatorError

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def python312() -> Interpreter:
    """Lambda's python3.12 runtime environment (awslambdaric and boto3), prepared once.

    It is kept in the user cache directory, so later sessions reuse it. Skipped when
    this machine has no Python 3.12, or the package index cannot be reached to
    prepare it the first time.
    """
    try:
        return runtime_environment((3, 12))
    except ConfigurationError as error:
        pytest.skip(f"no Python 3.12 here: {error}")
    except EmulatorError as error:  # pragma: no cover - only without the package index
        pytest.skip(f"the python3.12 runtime environment cannot be prepared: {error}")


def copy_runtime_package(python_dir: Path) -> None:
    """Copy lambda_kit (the runtime package a Layer vendors) into a layer's python/ directory."""
    shutil.copytree(
        REPOSITORY / "lambda_kit", python_dir / "lambda_kit", ignore=shutil.ignore_patterns("__pycache__")
    )


@pytest.fixture(scope="session")
def layer312(python312: Interpreter, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer for python3.12 with lambda_kit and protobuf, as examples/tuned needs it.

    protobuf comes from the package index (its 3.12 wheels): skipped when that cannot
    be reached.
    """
    root = tmp_path_factory.mktemp("layer312")
    python_dir = root / "python"
    copy_runtime_package(python_dir)
    done = subprocess.run(
        [
            python312.executable,
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"),
            *("--target", str(python_dir), "protobuf>=5.26"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:  # pragma: no cover - only without the package index
        pytest.skip(f"protobuf for python3.12 cannot be installed: {done.stderr.strip()[-300:]}")
    return root
