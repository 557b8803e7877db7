"""Lambda's read-only code directories: no bytecode written, only bytecode Lambda could use counted,
and ``bench`` warns (with the measured cost) when the code has none."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_kit_dev.bench import BYTECODE_WARN_BYTES, format_report, run_bench
from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.emulator._bytecode import BytecodeScan, PackageBytecode, compiled_copy, scan
from lambda_kit_dev.exceptions import EmulatorError

pytestmark = pytest.mark.emulator

SHIM = Path(__file__).parents[2] / "lambda_kit_dev" / "emulator" / "_shim" / "sitecustomize.py"
MODES = py_compile.PycInvalidationMode


def _module_with_other_bytecode(folder: Path, name: str, mode: py_compile.PycInvalidationMode) -> Path:
    """``name.py`` says VALUE = 'source'; its .pyc, valid by ``mode``'s rule, says 'pyc'."""
    source = folder / f"{name}.py"
    source.write_text("VALUE = 'source'\n")
    other = folder / f"{name}_other.src"
    other.write_text("VALUE = 'pyc'\n" + "#" * (len(source.read_text()) - len("VALUE = 'pyc'\n")))
    assert other.stat().st_size == source.stat().st_size
    stat = source.stat()
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and time: the header matches
    py_compile.compile(
        str(other), cfile=importlib.util.cache_from_source(str(source)), invalidation_mode=mode, doraise=True
    )
    other.unlink()
    return source


def _task_root(tmp_path: Path, handlers: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    shutil.copy(handlers / "runtime_info.py", root / "runtime_info.py")
    return root


def test_nothing_is_written_beside_the_code(tmp_path: Path, handlers: Path) -> None:
    root = _task_root(tmp_path, handlers)
    (root / "plain.py").write_text("VALUE = 1\n")
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "in_layer.py").write_text("VALUE = 2\n")
    with Emulator("runtime_info.handler", task_root=root, layers=[layer]) as fn:
        result = fn.invoke({"modules": ["plain", "in_layer"]})
    assert result.ok, result.error
    assert result.json()["dont_write_bytecode"] is True
    assert list(tmp_path.rglob("__pycache__")) == []


def test_timestamp_bytecode_in_the_code_does_not_count_and_hash_based_does(
    tmp_path: Path, handlers: Path
) -> None:
    root = _task_root(tmp_path, handlers)
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _module_with_other_bytecode(root, "stamped", MODES.TIMESTAMP)
    _module_with_other_bytecode(layer / "python", "stamped_layer", MODES.TIMESTAMP)
    _module_with_other_bytecode(root, "hashed", MODES.UNCHECKED_HASH)
    _module_with_other_bytecode(elsewhere, "stamped_elsewhere", MODES.TIMESTAMP)
    names = ["stamped", "stamped_layer", "hashed", "stamped_elsewhere"]
    # Outside the emulator, every one of these .pyc is valid and used:
    check = subprocess.run(
        [
            sys.executable,
            "-B",
            "-c",
            f"import importlib; print([importlib.import_module(n).VALUE for n in {names}])",
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (root, layer / "python", elsewhere)))},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "['pyc', 'pyc', 'pyc', 'pyc']"
    with Emulator("runtime_info.handler", task_root=root, layers=[layer], python_path=[elsewhere]) as fn:
        result = fn.invoke({"modules": names})
    assert result.ok, result.error
    values = {name: found["value"] for name, found in result.json()["modules"].items()}
    assert values == {
        "stamped": "source",  # compiled again, as on Lambda after a zip round trip
        "stamped_layer": "source",
        "hashed": "pyc",  # hash-based bytecode is valid in a read-only directory
        "stamped_elsewhere": "pyc",  # python_path is not Lambda code: left alone
    }
    assert result.json()["leaked"] == []


def _load_shim() -> object:
    spec = importlib.util.spec_from_file_location("lambda_kit_shim_bytecode", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_interpreters_own_directories_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.machinery import SourceFileLoader

    shim = _load_shim()
    monkeypatch.setattr(SourceFileLoader, "path_stats", SourceFileLoader.path_stats)  # restored after
    shim.ignore_timestamp_bytecode(("/",))  # type: ignore[attr-defined]
    inside = os.path.join(os.path.dirname(os.__file__), "os.py")  # the standard library
    outside = os.path.abspath(__file__)
    loader = SourceFileLoader("x", outside)
    assert loader.path_stats(inside)["size"] == os.path.getsize(inside)
    assert loader.path_stats(outside)["size"] == -1
    roots = shim._code_roots("/a/b\n\n/c")  # type: ignore[attr-defined]
    assert "/a/b/" in roots
    assert "/c/" in roots
    assert shim._code_roots("") == ()  # type: ignore[attr-defined]


def test_scan_tells_each_kind_of_bytecode(tmp_path: Path) -> None:
    root = tmp_path / "root"
    package = root / "pkg"
    package.mkdir(parents=True)
    for name, mode in (("unchecked", MODES.UNCHECKED_HASH), ("checked", MODES.CHECKED_HASH)):
        (package / f"{name}.py").write_text(f"NAME = {name!r}\n")
        py_compile.compile(str(package / f"{name}.py"), invalidation_mode=mode, doraise=True)
    (package / "stale.py").write_text("A = 1\n")
    py_compile.compile(str(package / "stale.py"), invalidation_mode=MODES.CHECKED_HASH, doraise=True)
    (package / "stale.py").write_text("A = 2\n")
    (package / "stamped.py").write_text("B = 1\n")
    py_compile.compile(str(package / "stamped.py"), doraise=True)
    (package / "other.py").write_text("C = 1\n")
    (package / "__pycache__" / "other.cpython-39.pyc").write_bytes(b"\x61\x0d\x0d\x0a" + b"\x00" * 12)
    (package / "wrong_magic.py").write_text("D = 1\n")
    Path(importlib.util.cache_from_source(str(package / "wrong_magic.py"))).write_bytes(b"\x00" * 16)
    (package / "__init__.py").write_text("")
    (root / "single.py").write_text("E = 1\n" * 100)
    (root / "pkg-1.0.dist-info").mkdir()
    (root / "pkg-1.0.dist-info" / "ignored.py").write_text("")
    nested = root / "nested_root"
    nested.mkdir()
    (nested / "counted_apart.py").write_text("")
    exempt = root / "venv"
    exempt.mkdir()
    (exempt / "exempted.py").write_text("")
    found = scan(sys.executable, [str(root), str(nested), str(tmp_path / "missing")], exempt=[str(exempt)])
    assert found.cache_tag == sys.implementation.cache_tag
    by_name = {p.name: p for p in found.packages}
    assert set(by_name) == {"pkg", "single", "counted_apart"}
    pkg = by_name["pkg"]
    assert (pkg.files, pkg.ok, pkg.stale, pkg.timestamp, pkg.other, pkg.none) == (7, 2, 1, 1, 2, 1)
    assert pkg.lacking == 5
    assert 0 < pkg.lacking_bytes < pkg.source_bytes
    assert by_name["single"].lacking_bytes == by_name["single"].source_bytes == 600
    assert [p.name for p in found.lacking()] == ["single", "pkg", "counted_apart"]
    assert [p.name for p in found.lacking(["pkg", "unknown"])] == ["pkg"]


def test_scan_with_an_interpreter_that_cannot_answer(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="Could not scan"):
        scan(str(tmp_path / "missing"), [str(tmp_path)])


def test_a_compiled_copy_has_bytecode_lambda_can_use(tmp_path: Path) -> None:
    source = tmp_path / "code"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("X = 1\n")
    (source / "app.py").write_text("import pkg\n")
    (source / "broken.py").write_text("def (:\n")  # compileall exits 1; Lambda would fail on it too
    py_compile.compile(str(source / "app.py"), doraise=True)  # timestamp-based: not copied
    (copy,) = compiled_copy(sys.executable, [str(source)], str(tmp_path / "into"))
    found = {p.name: p for p in scan(sys.executable, [copy]).packages}
    assert found["app"].ok == found["app"].files == 1
    assert found["pkg"].ok == 1
    assert found["broken"].none == 1


def test_a_compiled_copy_that_cannot_be_made(tmp_path: Path) -> None:
    failing = tmp_path / "python"
    failing.write_text("#!/bin/sh\necho 'compileall is broken' >&2\nexit 3\n")
    failing.chmod(0o755)
    (tmp_path / "code").mkdir()
    with pytest.raises(EmulatorError, match="compileall is broken"):
        compiled_copy(str(failing), [str(tmp_path / "code")], str(tmp_path / "into"))


def test_bench_warns_and_measures_the_cost_of_missing_bytecode(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "heavy.py").write_text("".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(3000)))
    (root / "unused.py").write_text("# never imported\n" * 10_000)
    (root / "app.py").write_text("import heavy\n\n\ndef handler(event, context):\n    return heavy.f1(1)\n")
    assert (root / "heavy.py").stat().st_size > BYTECODE_WARN_BYTES
    result = run_bench("app.handler", {}, cold=1, warm=0, task_root=str(root))
    assert result.bytecode is not None
    assert result.bytecode["warning"] is True
    assert result.bytecode["only_imported"] is True
    assert [p["name"] for p in result.bytecode["packages"]] == ["heavy", "app"]  # not 'unused'
    assert result.bytecode["packages"][0]["none"] == 1
    measured = result.bytecode["measured"]
    assert measured["cold_starts"] == 1
    assert measured["init_p50_ms"] > 0
    assert measured["compiled_init_p50_ms"] > 0
    text = format_report(result)
    assert "! No bytecode Lambda can use for 2 of 2 source files imported during INIT" in text
    assert "heavy (none 1)" in text
    assert "Measured: Init Duration p50" in text
    assert "1 interleaved cold starts each" in text
    assert json.loads(json.dumps(result.to_dict()))["bytecode"]["packages"][0]["name"] == "heavy"
    assert list(tmp_path.rglob("__pycache__")) == []  # the compiled copy was elsewhere, and is gone


def test_bench_is_quiet_about_a_little_missing_bytecode(handlers: Path) -> None:
    result = run_bench("basic.echo", {}, cold=1, warm=1, task_root=str(handlers), profile_imports=False)
    assert result.bytecode is not None
    assert result.bytecode["warning"] is False
    assert result.bytecode["measured"] is None
    assert result.bytecode["only_imported"] is False
    assert "No bytecode" not in format_report(result)
    skipped = run_bench(
        "basic.echo", {}, cold=1, warm=0, task_root=str(handlers), profile_imports=False, check_bytecode=False
    )
    assert skipped.bytecode is None


def test_bytecode_lines_without_a_measurement() -> None:
    from lambda_kit_dev.bench import _bytecode_lines

    package = PackageBytecode("boto3", 10, 100_000, 0, 3, 1, 4, 2, 100_000)
    found = BytecodeScan("cpython-312", (package,))
    lines = _bytecode_lines(
        {
            "cache_tag": found.cache_tag,
            "files": 10,
            "lacking_files": 10,
            "lacking_bytes": 100_000,
            "only_imported": False,
            "packages": [{**package.__dict__, "lacking": package.lacking}],
            "measured": None,
        }
    )
    text = "\n".join(lines)
    assert "in the task root and layers" in text
    assert "boto3 (timestamp-based 3, none 2, for another Python 4, stale 1)" in text
    assert "Measured" not in text
