"""Layers built from the package index's real wheels, for every Python of 3.10-3.13 found here.

Each layer (extras pydantic and protobuf) is built once per module from the
real wheels, which pip resolves and fetches once per target into a temporary
directory (one rebuild goes through pip again, from those files). A layer for a
Python this machine has must hold bytecode that its interpreter accepts as is
from the layer's directory: the right magic number and tag, hash-based, the hash
of its source; importing lambda_kit, pydantic and protobuf from it writes
nothing. arm64 layers cannot run here: their wheels' platform tags and their
shared objects' ELF machine say what they are for.

Without the package index these tests skip, saying so (CI has the index).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.emulator._python import runtime_environment
from lambda_kit_dev.layer import BuildError, BuildResult, Target, build_bundle, build_layer, find_interpreter
from lambda_kit_dev.layer._archive import elf_machine
from lambda_kit_dev.layer._project import find_project
from lambda_kit_dev.layer._wheels import WheelName, download_wheels
from lambda_kit_dev.stand_ins import AwsStandIn

ROOT = Path(__file__).resolve().parents[2]
TUNED = ROOT / "examples" / "tuned"
EVENT = ROOT / "examples" / "events" / "api_gateway_get.json"
EXTRAS = ["pydantic", "protobuf"]
PYTHONS = [python for python in ("3.10", "3.11", "3.12", "3.13") if find_interpreter(python) is not None]
_OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|Connection refused|"
    r"Max retries exceeded|ProxyError|ConnectTimeout|Read timed out|"
    r"No matching distribution found for pydantic"
)

# Runs in the target interpreter over an extracted layer: every source has bytecode the
# interpreter accepts without recompiling (its magic, hash-based, the hash of that source).
VERIFY = r"""
import importlib.util, json, os, sys
root, counted, problems = sys.argv[1], 0, []
for folder, _, names in os.walk(root):
    for name in names:
        if not name.endswith(".py"):
            continue
        source = os.path.join(folder, name)
        counted += 1
        try:
            with open(importlib.util.cache_from_source(source), "rb") as file:
                header = file.read(16)
        except OSError:
            problems.append(["no pyc", source])
            continue
        with open(source, "rb") as file:
            expected = importlib.util.source_hash(file.read())
        if header[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(["magic", source])
        elif header[4:8] != b"\1\0\0\0":
            problems.append(["not unchecked-hash", source])
        elif header[8:16] != expected:
            problems.append(["hash", source])
print(json.dumps({"counted": counted, "problems": problems[:20], "tag": sys.implementation.cache_tag}))
"""
IMPORTS = (
    "import lambda_kit.handler, lambda_kit.http, lambda_kit.metrics, lambda_kit.secrets\n"
    "import lambda_kit.protobuf\n"
    "from pydantic import BaseModel\n"
    "import google.protobuf.message, google.protobuf.json_format\n"
    "class Order(BaseModel):\n    id: int\n"
    "print(Order(id=7).id)\n"
)


def _offline(error: BuildError) -> None:
    if _OFFLINE.search(str(error)):
        pytest.skip(f"the package index is unreachable, so no real wheels: {str(error)[-300:]}")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of this checkout's lambda_kit: two builds from it have the same inputs."""
    folder = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "lambda_kit", folder / "lambda_kit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder / "lambda_kit"


@pytest.fixture(scope="module")
def wheelhouses(tmp_path_factory: pytest.TempPathFactory, source: Path) -> dict[Target, list[Path]]:
    """The extras' wheels from the package index, per target: pip resolves and fetches, two at a time."""
    folder = tmp_path_factory.mktemp("wheels")
    cache = folder / "pip-cache"
    requirements = find_project(source).requirements(EXTRAS)
    targets = [Target(python) for python in PYTHONS] + [Target(PYTHONS[-1] if PYTHONS else "3.12", "arm64")]

    def fetch(target: Target) -> list[Path]:
        return download_wheels(
            requirements,
            folder / f"{target.python}-{target.arch}",
            target,
            interpreter=find_interpreter(target.python),
            pip_options=["--cache-dir", str(cache)],
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {target: pool.submit(fetch, target) for target in targets}
        try:
            return {target: future.result() for target, future in futures.items()}
        except BuildError as error:
            _offline(error)
            raise


@pytest.fixture(scope="module")
def layers(
    tmp_path_factory: pytest.TempPathFactory, source: Path, wheelhouses: dict[Target, list[Path]]
) -> dict[Target, BuildResult]:
    """One layer per Python found here on x86_64, and one for arm64, from those wheels."""
    folder = tmp_path_factory.mktemp("layers")

    def build(target: Target) -> BuildResult:
        out = folder / f"layer-{target.python}-{target.arch}.zip"
        return build_layer(
            out,
            python=target.python,
            arch=target.arch,
            extras=EXTRAS,
            source=source,
            wheels=wheelhouses[target],
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(wheelhouses, pool.map(build, wheelhouses), strict=True))


def _extract(result: BuildResult, into: Path) -> Path:
    with zipfile.ZipFile(result.out) as archive:
        archive.extractall(into)
    return into / "python"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("python", PYTHONS)
def test_the_layers_bytecode_is_accepted_by_its_python_from_a_read_only_directory(
    layers: dict[Target, BuildResult], python: str, tmp_path: Path
) -> None:
    result = layers[Target(python)]
    interpreter = find_interpreter(python)
    assert interpreter is not None
    assert result.interpreter == interpreter
    site = _extract(result, tmp_path)
    checked = subprocess.run(
        [interpreter.path, "-S", "-c", VERIFY, str(site)], capture_output=True, text=True, check=True
    )
    report = json.loads(checked.stdout)
    assert report["problems"] == []
    assert report["counted"] > 150  # lambda_kit, pydantic, protobuf, typing_extensions, ...
    assert f"({report['tag']})" in result.bytecode
    # Read-only as Lambda's /opt (root ignores the mode bits, so a snapshot tells whether
    # the interpreter wrote or rewrote any bytecode: it would for a .pyc it rejected).
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode & 0o555)
    before = _snapshot(site)
    imported = subprocess.run(
        [interpreter.path, "-s", "-c", IMPORTS],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert imported.stdout == "7\n"
    assert _snapshot(site) == before
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


def test_each_layer_holds_its_pythons_wheels_and_no_other_bytecode(layers: dict[Target, BuildResult]) -> None:
    for target, result in layers.items():
        assert result.ok, result.summary()
        wheels = [WheelName.parse(name) for name in result.wheels]
        assert {wheel.distribution for wheel in wheels} >= {"pydantic", "pydantic-core", "protobuf"}
        core = next(wheel for wheel in wheels if wheel.distribution == "pydantic-core")
        assert core.abis == (target.abi,)
        with zipfile.ZipFile(result.out) as archive:
            names = archive.namelist()
        assert f"python/pydantic_core/_pydantic_core{target.extension_suffix}" in names
        tags = {match[1] for name in names for match in [re.search(r"\.(cpython-\d+)\.pyc$", name)] if match}
        assert tags == {f"cpython-{target.abi[2:]}"}
        assert not [name for name in names if name.startswith(("python/bin/", "python/lambda_kit_dev/"))]
        assert not [name for name in names if "/tests/" in name]
        assert "python/lambda_kit/__init__.py" in names


def test_an_arm64_layer_holds_aarch64_wheels_and_aarch64_code_only(layers: dict[Target, BuildResult]) -> None:
    (target,) = [target for target in layers if target.arch == "arm64"]
    result = layers[target]
    for name in result.wheels:
        wheel = WheelName.parse(name)
        assert wheel.pure or all(tag.endswith("_aarch64") for tag in wheel.platforms), name
    with zipfile.ZipFile(result.out) as archive:
        shared = [info for info in archive.infolist() if info.filename.endswith(".so")]
        machines = {info.filename: elf_machine(archive.read(info)[:20]) for info in shared}
    assert len(machines) >= 2  # pydantic-core's and protobuf's upb
    assert set(machines.values()) == {"aarch64"}, machines
    assert result.warnings == ()


def test_rebuilding_a_layer_through_pip_gives_the_same_sha256(
    layers: dict[Target, BuildResult], wheelhouses: dict[Target, list[Path]], source: Path, tmp_path: Path
) -> None:
    """pip resolves again, from the wheels already fetched (no index): the same layer, byte for byte."""
    target = Target(PYTHONS[-1] if PYTHONS else "3.12")
    folder = wheelhouses[target][0].parent
    again = build_layer(
        tmp_path / "again.zip",
        python=target.python,
        extras=EXTRAS,
        source=source,
        pip_options=["--no-index", "--find-links", str(folder)],
    )
    assert again.wheels == layers[target].wheels
    assert again.sha256 == layers[target].sha256
    assert again.out.read_bytes() == layers[target].out.read_bytes()


@pytest.mark.emulator
@pytest.mark.parametrize("python", PYTHONS)
def test_the_tuned_example_runs_from_its_bundle_and_layer_under_each_python(
    layers: dict[Target, BuildResult], python: str, tmp_path: Path, aws: AwsStandIn
) -> None:
    """examples/tuned as Lambda runs it: bundle in the task root, layer on /opt, that Python.

    Through the emulator under the matching runtime environment (awslambdaric and boto3
    only), so every import of lambda_kit, protobuf and the function's own modules comes
    from what the builder made; nothing is written into either tree (the bytecode it
    ships is checked by the test above; here the emulator keeps both trees read-only).
    """
    target = Target(python)
    bundle = build_bundle(TUNED, tmp_path / "function.zip", python=python, with_layers=[layers[target].out])
    assert bundle.ok
    assert bundle.combined_unzipped > bundle.unzipped
    assert bundle.wheels == ()
    task = tmp_path / "task"
    with zipfile.ZipFile(bundle.out) as archive:
        archive.extractall(task)
        assert {"app.py", "orders.py", "order_view_pb2.py"} <= set(archive.namelist())
    opt = tmp_path / "opt"
    with zipfile.ZipFile(layers[target].out) as archive:
        archive.extractall(opt)
    before = _snapshot(tmp_path)
    secret = f"demo/layer-{python}-{uuid.uuid4().hex}"
    aws.client("secretsmanager").create_secret(
        Name=secret, SecretString=json.dumps({"username": "app", "password": "pw"})
    )
    major, minor = (int(part) for part in python.split("."))
    runtime = runtime_environment((major, minor))
    with Emulator(
        "app.handler",
        task_root=task,
        layers=[opt],
        python=runtime.executable,
        env={**aws.environ(), "DB_SECRET_ID": secret},
        count_aws_calls=False,
    ) as function:
        invocation = function.invoke(json.loads(EVENT.read_text()))
    assert invocation.ok, invocation.log
    body = json.loads(json.loads(invocation.payload)["body"])
    assert body == {"order_id": "42", "user": "app", "in_stock": None}
    assert invocation.report.init_duration_ms is not None
    assert f"Python {python}" in _runtime_version(runtime.executable)
    assert _snapshot(tmp_path) == before


def _runtime_version(executable: str) -> str:
    return subprocess.run([executable, "-V"], capture_output=True, text=True, check=True).stdout
