"""The committed *_pb2.py(i) files are what grpcio-tools' protoc makes of their .proto files.

Generated code lives beside its .proto in tests/protos/ and examples/tuned/.

Regenerate after editing a .proto (or upgrading protobuf / grpcio-tools):

    .venv/bin/python tests/test_protobuf_gencode.py --write

The committed files carry a two-line header (``# ruff: noqa`` / ``# fmt: off``) so
that lint and format leave generated code alone; everything after it is protoc's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROTOS = Path(__file__).resolve().parent / "protos"
DIRECTORIES = (PROTOS, Path(__file__).resolve().parent.parent / "examples" / "tuned")
HEADER = "# ruff: noqa\n# fmt: off\n"
SUFFIXES = ("_pb2.py", "_pb2.pyi")


def generate(out_dir: Path, source: Path = PROTOS) -> dict[str, str]:
    """Run protoc (grpcio-tools) over every .proto in ``source``; the files it wrote, with HEADER."""
    protos = sorted(path.name for path in source.glob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{source}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            *protos,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return {path.name: HEADER + path.read_text(encoding="utf-8") for path in sorted(out_dir.iterdir())}


@pytest.mark.parametrize("source", DIRECTORIES, ids=lambda path: path.name)
def test_generated_code_is_current(tmp_path: Path, source: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools is not installed")
    generated = generate(tmp_path, source)

    committed = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(source.iterdir())
        if path.name.endswith(SUFFIXES)
    }
    assert sorted(generated) == sorted(committed)
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is stale: run python tests/test_protobuf_gencode.py --write"


@pytest.mark.parametrize("source", DIRECTORIES, ids=lambda path: path.name)
def test_generated_code_imports_without_warnings(source: Path) -> None:
    # protobuf warns, or refuses, when the gencode is newer or older than the runtime.
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    for path in sorted(source.glob("*_pb2.py")):
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c", f"import {path.stem}"],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    import tempfile

    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_protobuf_gencode.py --write")
    for directory in DIRECTORIES:
        with tempfile.TemporaryDirectory() as scratch:
            for name, text in generate(Path(scratch), directory).items():
                (directory / name).write_text(text, encoding="utf-8")
                print(f"wrote {directory / name}")
