"""The layer builder's parts and its small builds: no package index needed.

The builds from real wheels of every Python (3.10-3.13, x86_64 and arm64) are in
``test_layer_builds.py``; here fake wheels made on the spot stand in for the
index, so each case shows exactly one rule: what is left out, what is refused,
what the zip holds, how the command line answers.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, LambdaKitError
from lambda_kit_dev.layer import (
    LAMBDA_LIMITS,
    RUNTIME_PACKAGES,
    BuildError,
    Limits,
    Target,
    add_arguments,
    build_bundle,
    build_layer,
    check_limits,
    find_interpreter,
    run,
)
from lambda_kit_dev.layer._archive import elf_machine, unzipped_size, write_zip
from lambda_kit_dev.layer._build import wheel_fits
from lambda_kit_dev.layer._bytecode import CHECKED, UNCHECKED, read_pyc_header
from lambda_kit_dev.layer._project import Project, extras_from_metadata, find_project, requirement_name
from lambda_kit_dev.layer._target import Interpreter, candidates, probe
from lambda_kit_dev.layer._wheels import (
    WheelName,
    download_command,
    download_wheels,
    install_wheel,
    pip_command,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HERE = "{}.{}".format(*sys.version_info[:2])


def make_wheel(
    directory: Path, name: str, version: str, files: dict[str, bytes], tag: str = "py3-none-any"
) -> Path:
    """A minimal wheel: ``files`` plus its .dist-info (METADATA, WHEEL, RECORD)."""
    stem = f"{name.replace('-', '_')}-{version}"
    path = directory / f"{stem}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(
            f"{stem}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        archive.writestr(
            f"{stem}.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n"
        )
        archive.writestr(f"{stem}.dist-info/RECORD", "")
    return path


def elf_header(machine: int) -> bytes:
    """The first 64 bytes of a little-endian 64-bit ELF shared object for ``machine``."""
    return b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, machine) + bytes(44)


def entries(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


# -- targets and interpreters -----------------------------------------------------------


def test_a_target_names_the_runtime_and_its_manylinux_tags_newest_glibc_first() -> None:
    old = Target("3.11")
    assert old.runtime == "python3.11"
    assert old.abi == "cp311"
    assert old.platform_tags[0] == "manylinux_2_26_x86_64"  # Amazon Linux 2: glibc 2.26
    assert "manylinux_2_27_x86_64" not in old.platform_tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(old.platform_tags)
    new = Target("3.13", "arm64")
    assert new.machine == "aarch64"
    assert new.platform_tags[0] == "manylinux_2_34_aarch64"  # Amazon Linux 2023: glibc 2.34
    assert new.platform_tags[-1] == "manylinux2014_aarch64"  # aarch64 wheels start at 2.17
    assert all(tag.endswith("_aarch64") for tag in new.platform_tags)
    assert new.extension_suffix == ".cpython-313-aarch64-linux-gnu.so"


@pytest.mark.parametrize(
    ("python", "arch", "setting"), [("3.9", "x86_64", "python"), ("3.12", "amd64", "arch")]
)
def test_an_unknown_python_or_arch_is_a_configuration_error_naming_the_valid_ones(
    python: str, arch: str, setting: str
) -> None:
    with pytest.raises(ConfigurationError, match="expected one of") as raised:
        Target(python, arch)
    assert raised.value.context["setting"] == setting


def test_the_interpreter_search_starts_with_this_python_and_checks_what_it_finds(tmp_path: Path) -> None:
    assert candidates(HERE)[0] == sys.executable
    found = find_interpreter(HERE)
    assert found is not None
    assert found.version.startswith(HERE + ".")
    assert probe(tmp_path / "nothing") is None
    not_python = tmp_path / "python3.99"
    not_python.write_text("#!/bin/sh\necho pypy 3.99.0\n")
    not_python.chmod(0o755)
    assert probe(not_python) is None


def test_an_explicit_interpreter_of_another_version_is_refused() -> None:
    other = "3.10" if HERE != "3.10" else "3.11"
    with pytest.raises(ConfigurationError, match=f"is Python {HERE}") as raised:
        find_interpreter(other, sys.executable)
    assert raised.value.context["setting"] == "interpreter"
    with pytest.raises(ConfigurationError, match="does not run as CPython"):
        find_interpreter(other, "/nonexistent/python")
    assert find_interpreter(HERE, sys.executable) is not None


def test_without_a_target_interpreter_the_search_finds_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = "3.10" if HERE != "3.10" else "3.11"
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert candidates(other) == []
    assert find_interpreter(other) is None
    (tmp_path / f"python{other}").symlink_to(sys.executable)  # a name that lies about its version
    assert candidates(other) == [str(tmp_path / f"python{other}")]
    assert find_interpreter(other) is None


# -- parsers of outside input: wheel names, requirement strings, pyc and ELF headers -----


def test_wheel_names_parse_with_every_tag_set_expanded() -> None:
    name = WheelName.parse("protobuf-5.29.3-cp38-abi3-manylinux2014_aarch64.whl")
    assert (name.distribution, name.version, name.build) == ("protobuf", "5.29.3", None)
    assert (name.pythons, name.abis, name.platforms) == (("cp38",), ("abi3",), ("manylinux2014_aarch64",))
    assert not name.pure
    built = WheelName.parse("Python_Dateutil-2.9.0.post0-1-py2.py3-none-any.whl")
    assert (built.distribution, built.build, built.pythons, built.pure) == (
        "python-dateutil",
        "1",
        ("py2", "py3"),
        True,
    )
    for bad in (
        "pydantic-2.0.tar.gz",
        "pydantic-2.0-py3-none.whl",
        "a-1-py3..x-none-any.whl",
        "-1-py3-none-any.whl",
    ):
        with pytest.raises(ValueError, match="wheel file name"):
            WheelName.parse(bad)


_part = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)


@given(
    name=st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._]{0,10}[A-Za-z0-9])?", fullmatch=True),
    version=st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
    build=st.none() | st.from_regex(r"[0-9][a-z0-9]{0,3}", fullmatch=True),
    pythons=st.lists(_part, min_size=1, max_size=3),
    abis=st.lists(_part, min_size=1, max_size=3),
    platforms=st.lists(_part, min_size=1, max_size=3),
)
def test_a_wheel_name_made_from_parts_parses_back_to_them(
    name: str, version: str, build: str | None, pythons: list[str], abis: list[str], platforms: list[str]
) -> None:
    filename = "-".join(
        [name, version, *([build] if build else []), ".".join(pythons), ".".join(abis), ".".join(platforms)]
    )
    parsed = WheelName.parse(filename + ".whl")
    assert (parsed.version, parsed.build) == (version, build)
    assert (parsed.pythons, parsed.abis, parsed.platforms) == (tuple(pythons), tuple(abis), tuple(platforms))
    assert parsed.distribution == parsed.distribution.lower()
    assert "_" not in parsed.distribution


@given(st.text(max_size=80))
def test_any_text_is_a_wheel_name_or_a_value_error(text: str) -> None:
    try:
        parsed = WheelName.parse(text)
    except ValueError:
        return
    assert text.endswith(".whl")
    assert parsed.pythons
    assert parsed.abis
    assert parsed.platforms


def test_requirement_names_are_normalized_with_their_extras() -> None:
    assert requirement_name("pydantic>=2.6") == ("pydantic", ())
    assert requirement_name(" Lambda_Perf.Kit [ AWS , pydantic ] ; python_version>'3'") == (
        "lambda-perf-kit",
        ("aws", "pydantic"),
    )
    with pytest.raises(ValueError, match="not a requirement"):
        requirement_name(">=1.0")


@given(st.text(max_size=60))
def test_any_text_is_a_requirement_name_or_a_value_error(text: str) -> None:
    try:
        name, extras = requirement_name(text)
    except ValueError:
        return
    assert name
    assert name == name.lower()
    assert all(extra and "," not in extra for extra in extras)


def test_metadata_lines_group_by_extra_and_keep_other_markers() -> None:
    grouped = extras_from_metadata(
        [
            "pydantic>=2.6; extra == 'pydantic'",
            'protobuf>=5.26 ; extra == "protobuf"',
            "exceptiongroup; python_version < \"3.11\" and extra == 'Pydantic'",
            "always-needed>=1",
            "marker-only; os_name == 'posix'",
        ]
    )
    assert grouped == {
        "pydantic": ["pydantic>=2.6", 'exceptiongroup; python_version < "3.11"'],
        "protobuf": ["protobuf>=5.26"],
    }
    with pytest.raises(ValueError, match="unsupported marker"):
        extras_from_metadata(["x; extra == 'a' or extra == 'b'"])


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_metadata_lines_group_or_raise_value_error(lines: list[str]) -> None:
    try:
        grouped = extras_from_metadata(lines)
    except ValueError:
        return
    assert sum(len(found) for found in grouped.values()) <= len(lines)


def test_pyc_headers_say_how_they_are_validated() -> None:
    magic = bytes.fromhex("cb0d0d0a")
    unchecked = read_pyc_header(magic + struct.pack("<I", 1) + b"12345678")
    checked = read_pyc_header(magic + struct.pack("<I", 3) + b"12345678")
    stamped = read_pyc_header(magic + struct.pack("<III", 0, 315532800, 42))
    assert unchecked is not None
    assert (unchecked.kind, unchecked.source_hash) == (UNCHECKED, b"12345678")
    assert checked is not None
    assert checked.kind == CHECKED
    assert stamped is not None
    assert (stamped.kind, stamped.mtime, stamped.source_size) == (
        "timestamp",
        315532800,
        42,
    )
    assert read_pyc_header(magic + struct.pack("<I", 2) + bytes(8)) is None  # check_source without hash
    assert read_pyc_header(magic[:2] + b"xx" + bytes(12)) is None
    assert read_pyc_header(magic) is None


@given(st.binary(max_size=40))
def test_any_bytes_are_a_pyc_header_or_none(data: bytes) -> None:
    header = read_pyc_header(data)
    if header is not None:
        assert header.magic == data[:4]
        assert header.kind in (UNCHECKED, CHECKED, "timestamp")


def test_elf_headers_name_the_machine() -> None:
    assert elf_machine(elf_header(62)) == "x86_64"
    assert elf_machine(elf_header(183)) == "aarch64"
    assert elf_machine(elf_header(4242)) == "machine 4242"
    big_endian = b"\x7fELF\x02\x02\x01" + bytes(9) + struct.pack(">HH", 3, 183)
    assert elf_machine(big_endian) == "aarch64"
    assert elf_machine(b"\x7fELF\x02\x07" + bytes(14)) is None  # no such byte order
    assert elf_machine(b"MZ" + bytes(30)) is None
    with open(sys.executable, "rb") as interpreter:
        assert elf_machine(interpreter.read(20)) == os.uname().machine


@given(st.binary(max_size=32))
def test_any_bytes_are_an_elf_machine_or_none(data: bytes) -> None:
    machine = elf_machine(data)
    assert machine is None or data.startswith(b"\x7fELF")


# -- the project: lambda_kit and its extras -----------------------------------------------


def test_the_project_is_this_checkout_and_its_extras_come_from_pyproject() -> None:
    project = find_project()
    assert project.package_dir == ROOT / "lambda_kit"
    assert project.version
    assert project.requirements(["pydantic"]) == ["pydantic>=2.6"]
    assert sorted(project.requirements(["all"])) == ["boto3>=1.34", "protobuf>=5.26", "pydantic>=2.6"]
    assert project.requirements([]) == []
    assert sorted(project.requirements(["all", "pydantic", "all"])) == sorted(project.requirements(["all"]))


def test_the_installed_metadata_gives_the_same_extras_as_pyproject() -> None:
    from lambda_kit_dev.layer._project import _from_metadata

    from_metadata = _from_metadata(ROOT / "lambda_kit")
    from_pyproject = find_project()
    for extra in ("pydantic", "protobuf", "aws", "all"):
        assert sorted(from_metadata.requirements([extra])) == sorted(from_pyproject.requirements([extra]))
    assert from_metadata.requirements(["all", "pydantic"]) == from_metadata.requirements(["all"])


def test_development_and_unknown_extras_are_refused() -> None:
    project = find_project()
    with pytest.raises(ConfigurationError, match="development tooling"):
        project.requirements(["tools"])
    with pytest.raises(ConfigurationError, match=r"Invalid extra 'yaml'; expected some of: .*pydantic"):
        project.requirements(["yaml"])
    with pytest.raises(ConfigurationError, match=r"\(none known: neither a pyproject.toml"):
        Project(ROOT / "lambda_kit").requirements(["pydantic"])


def test_a_source_that_is_not_the_lambda_kit_package_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="lambda_kit package directory"):
        find_project(tmp_path)
    with pytest.raises(ConfigurationError, match="lambda_kit package directory"):
        build_layer(tmp_path / "out.zip", source=tmp_path)


def _fake_distribution(folder: Path, name: str, lines: list[str]) -> None:
    info = folder / f"{name.replace('-', '_')}-9.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "\n".join(["Metadata-Version: 2.1", f"Name: {name}", "Version: 9.0", *lines]) + "\n"
    )


def test_an_installed_distribution_is_ours_only_with_our_extras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.layer import _project

    impostor = tmp_path / "impostor"
    _fake_distribution(impostor, "lambda-kit", ["Summary: a tool to package Python code for AWS Lambda"])
    monkeypatch.syspath_prepend(str(impostor))
    found = _project._from_metadata(ROOT / "lambda_kit")
    # The impostor has no pydantic extra: this checkout's install answers.
    assert found.name == "lambda-perf-kit"
    broken = tmp_path / "broken"
    _fake_distribution(
        broken,
        "lambda-perf-kit",
        ["Provides-Extra: pydantic", "Requires-Dist: x; extra == 'a' or extra == 'b'"],
    )
    monkeypatch.syspath_prepend(str(broken))
    with pytest.raises(ConfigurationError, match="unsupported marker"):
        _project._from_metadata(ROOT / "lambda_kit")
    monkeypatch.setattr(_project, "DISTRIBUTIONS", ("surely-no-such-distribution",))
    assert _project._from_metadata(ROOT / "lambda_kit") == Project(ROOT / "lambda_kit")


def test_a_layer_of_a_package_without_metadata_has_no_dist_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.layer import _project

    monkeypatch.setattr(_project, "DISTRIBUTIONS", ("surely-no-such-distribution",))
    package = tmp_path / "src" / "lambda_kit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    result = build_layer(tmp_path / "layer.zip", source=package, bytecode=False)
    assert entries(result.out) == ["python/", "python/lambda_kit/", "python/lambda_kit/__init__.py"]


def test_a_copy_without_pyproject_falls_back_to_metadata(tmp_path: Path) -> None:
    package = tmp_path / "lambda_kit"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'something-else'\n")
    assert find_project(package).requirements(["pydantic"]) == ["pydantic>=2.6"]
    (tmp_path / "pyproject.toml").write_text("not toml [")
    assert find_project(package).requirements(["protobuf"]) == ["protobuf>=5.26"]


# -- limits, wheels that fit, zips that do not change --------------------------------------


def test_the_limits_are_lambdas_and_only_the_unzipped_one_is_fatal() -> None:
    assert (LAMBDA_LIMITS.unzipped, LAMBDA_LIMITS.zipped) == (262_144_000, 52_428_800)
    assert check_limits(LAMBDA_LIMITS.unzipped, LAMBDA_LIMITS.zipped) == []
    over = check_limits(LAMBDA_LIMITS.unzipped + 1, LAMBDA_LIMITS.zipped + 1)
    assert [(problem.limit, problem.fatal) for problem in over] == [("unzipped", True), ("zipped", False)]
    assert "250.0 MB" in over[0].message
    assert "S3" in over[1].message
    assert check_limits(10, 10, limits=Limits(unzipped=9, zipped=9))[0].maximum == 9


@pytest.mark.parametrize(
    ("filename", "target", "fits"),
    [
        (
            "pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            Target("3.12"),
            True,
        ),
        ("pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_x86_64.whl", Target("3.13"), False),
        ("pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_aarch64.whl", Target("3.12"), False),
        ("pydantic_core-2.27.2-cp312-cp312-manylinux_2_28_x86_64.whl", Target("3.12"), True),
        ("pydantic_core-2.27.2-cp311-cp311-manylinux_2_28_x86_64.whl", Target("3.11"), False),  # AL2: 2.26
        ("protobuf-5.29.3-cp38-abi3-manylinux2014_aarch64.whl", Target("3.10", "arm64"), True),
        ("protobuf-5.29.3-cp314-abi3-manylinux2014_aarch64.whl", Target("3.13", "arm64"), False),
        ("six-1.17.0-py2.py3-none-any.whl", Target("3.10"), True),
        ("thing-1.0-py2-none-any.whl", Target("3.10"), False),
        ("thing-1.0-cp313-none-any.whl", Target("3.13"), True),
        ("thing-1.0-cp313-cp313-win_amd64.whl", Target("3.13"), False),
    ],
)
def test_a_wheel_fits_the_runtimes_python_abi_machine_and_glibc(
    filename: str, target: Target, fits: bool
) -> None:
    assert (wheel_fits(WheelName.parse(filename), target) is None) is fits


def test_the_same_files_give_the_same_zip_whatever_their_order_times_and_modes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, mode, mtime in ((first, 0o600, 1_000_000_000), (second, 0o777, 1_700_000_000)):
        (folder / "pkg").mkdir(parents=True)
        for name, data in (
            ("pkg/mod.py", b"x = 1\n"),
            ("pkg/_ext.cpython-312-x86_64-linux-gnu.so", b"\x7fELF"),
        ):
            path = folder / name
            path.write_bytes(data)
            path.chmod(mode)
            os.utime(path, (mtime, mtime))
    names = ["pkg/mod.py", "pkg/_ext.cpython-312-x86_64-linux-gnu.so"]
    write_zip([(f"python/{name}", first / name) for name in names], tmp_path / "1.zip")
    write_zip([(f"python/{name}", second / name) for name in reversed(names)], tmp_path / "2.zip")
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "python/",
        "python/pkg/",
        "python/pkg/_ext.cpython-312-x86_64-linux-gnu.so",
        "python/pkg/mod.py",
    ]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.extra for info in infos} == {b""}
    modes = [stat.filemode(info.external_attr >> 16) for info in infos]
    assert modes == ["drwxr-xr-x", "drwxr-xr-x", "-rwxr-xr-x", "-rw-r--r--"]
    assert unzipped_size(tmp_path / "1.zip") == 10


def test_the_unzipped_size_of_a_broken_zip_is_a_build_error(tmp_path: Path) -> None:
    broken = tmp_path / "layer.zip"
    broken.write_bytes(b"PK not really")
    with pytest.raises(BuildError, match="cannot read"):
        unzipped_size(broken)


# -- wheels: unpacking, pip's command line -------------------------------------------------


def test_a_wheel_unpacks_without_scripts_headers_and_data(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "tool",
        "1.0",
        {
            "tool/__init__.py": b"",
            "tool-1.0.data/purelib/": b"",
            "tool-1.0.data/scripts/": b"",
            "tool-1.0.data/purelib/tool_extra.py": b"",
            "tool-1.0.data/platlib/tool_native/__init__.py": b"",
            "tool-1.0.data/scripts/tool": b"#!/home/me/.venv/bin/python\n",
            "tool-1.0.data/headers/tool.h": b"",
            "tool-1.0.data/data/share/tool.txt": b"",
        },
    )
    installed = install_wheel(wheel, tmp_path / "site")
    assert sorted(installed.files) == [
        "tool-1.0.dist-info/METADATA",
        "tool-1.0.dist-info/RECORD",
        "tool-1.0.dist-info/WHEEL",
        "tool/__init__.py",
        "tool_extra.py",
        "tool_native/__init__.py",
    ]
    assert len(installed.skipped) == 3
    assert not (tmp_path / "site" / "bin").exists()


@pytest.mark.parametrize(
    "member", ["../evil.py", "/etc/evil.py", "pkg/../../evil.py", "C:/evil.py", "a\\..\\b.py"]
)
def test_a_wheel_member_outside_its_root_is_refused(tmp_path: Path, member: str) -> None:
    wheel = make_wheel(tmp_path, "evil", "1.0", {member: b"boom"})
    with pytest.raises(BuildError, match="outside its root"):
        install_wheel(wheel, tmp_path / "site")
    assert not (tmp_path / "evil.py").exists()


@given(st.text(max_size=40))
def test_any_member_name_is_refused_or_stays_inside_the_target(name: str) -> None:
    from lambda_kit_dev.layer._wheels import _safe_member

    root = Path("/srv/site")
    member = _safe_member(name)
    if member is not None:
        assert not member.is_absolute()
        assert ".." not in member.parts
        assert root in root.joinpath(*member.parts).parents


_END_OF_ZIP = st.tuples(st.binary(max_size=80), st.binary(min_size=18, max_size=40)).map(
    lambda parts: parts[0] + b"PK\x05\x06" + parts[1]  # an end-of-central-directory record, fields at random
)


@given(st.binary(max_size=200) | _END_OF_ZIP)
def test_any_bytes_are_a_zip_or_a_build_error(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "layer.zip")
        path.write_bytes(data)
        try:
            size = unzipped_size(path)
        except BuildError as error:
            size, message = -1, str(error)
        assert size >= 0 or "cannot read" in message


def test_a_file_that_is_not_a_wheel_is_a_build_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake-1.0-py3-none-any.whl"
    fake.write_bytes(b"not a zip")
    with pytest.raises(BuildError, match="cannot unpack"):
        install_wheel(fake, tmp_path / "site")
    with pytest.raises(BuildError, match="not a wheel file name"):
        install_wheel(tmp_path / "fake.zip", tmp_path / "site")
    damaged = tmp_path / "damaged-1.0-py3-none-any.whl"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("damaged/__init__.py", bytes(range(256)) * 64)
    data = bytearray(damaged.read_bytes())
    data[100:140] = bytes(40)  # inside the compressed stream: a corrupt deflate stream or a bad CRC
    damaged.write_bytes(bytes(data))
    with pytest.raises(BuildError, match=r"cannot unpack wheel 'damaged-1\.0-py3-none-any\.whl'"):
        install_wheel(damaged, tmp_path / "site")


def test_pip_runs_under_the_target_interpreter_and_asks_for_its_platform(tmp_path: Path) -> None:
    own = Interpreter("/opt/python3.13", "3.13.0", "24.2")
    old = Interpreter("/opt/python3.13", "3.13.0", "21.3.1")
    bare = Interpreter("/opt/python3.13", "3.13.0", None)
    assert own.pip_usable
    assert not old.pip_usable
    assert not bare.pip_usable
    assert pip_command(own) == ["/opt/python3.13", "-m", "pip"]
    assert pip_command(old, pip_here=True) == [sys.executable, "-m", "pip", "--python", "/opt/python3.13"]
    assert pip_command(bare, pip_here=False) == ["/opt/python3.13", "-m", "pip"]
    assert pip_command(None, pip_here=False) == pip_command(None) == [sys.executable, "-m", "pip"]
    this = Interpreter(sys.executable, HERE)
    assert pip_command(this, pip_here=True) == [sys.executable, "-m", "pip"]
    found = find_interpreter(HERE)
    assert found is not None
    assert found.pip_usable
    command = download_command(
        ["pydantic>=2.6"],
        tmp_path,
        Target("3.13", "arm64"),
        interpreter=own,
        requirement_files=[tmp_path / "requirements.txt"],
        pip_options=["--no-index"],
    )
    assert command[:5] == ["/opt/python3.13", "-m", "pip", "download", "--dest"]
    assert command[command.index("--python-version") + 1] == "3.13"
    assert "--only-binary=:all:" in command
    platforms = [command[i + 1] for i, part in enumerate(command) if part == "--platform"]
    assert platforms == list(Target("3.13", "arm64").platform_tags)
    assert command[-4:] == [
        "--no-index",
        "--requirement",
        str(tmp_path / "requirements.txt"),
        "pydantic>=2.6",
    ]


def test_a_pip_failure_is_a_build_error_with_what_pip_said(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"pip could not fetch wheels for python3\.12 x86_64") as raised:
        download_wheels(
            ["surely-no-such-distribution-here==0.0.1"],
            tmp_path / "wheels",
            Target("3.12"),
            pip_options=["--no-index", "--find-links", str(tmp_path)],
        )
    assert "surely-no-such-distribution-here" in str(raised.value)
    assert raised.value.context["returncode"] != 0
    assert download_wheels([], tmp_path / "empty", Target("3.12")) == []
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.whl").write_bytes(b"")
    with pytest.raises(BuildError, match="not empty"):
        download_wheels(["x"], tmp_path / "full", Target("3.12"))


# -- builds from fake wheels: what is left out, refused, compiled ----------------------------


@pytest.fixture(scope="module")
def fake_wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One wheel per runtime package, and one that ships junk around its module."""
    folder = tmp_path_factory.mktemp("wheels")
    wheels = [
        make_wheel(folder, name, "1.0", {f"{name.replace('-', '_')}/__init__.py": b"RUNTIME = True\n"})
        for name in sorted(RUNTIME_PACKAGES)
    ]
    wheels.append(
        make_wheel(
            folder,
            "messy",
            "2.0",
            {
                "messy/__init__.py": b"VALUE = {'a', 'b', 'c'}\n",
                "messy/tests/test_messy.py": b"",
                "messy/sub/test/__init__.py": b"",
                "messy/testing.py": b"",
                "messy/py2only.py": b"print 'hello'\n",
                "tests/__init__.py": b"",
                "lambda_kit_dev/__init__.py": b"",
                "messy/__pycache__/__init__.cpython-39.pyc": b"old",
                "messy/legacy.pyc": b"old",
                "messy-2.0.data/scripts/messy": b"#!/usr/bin/python\n",
            },
        )
    )
    return wheels


def test_a_layer_leaves_out_the_runtimes_packages_tests_scripts_and_dev_tools(
    tmp_path: Path, fake_wheels: list[Path]
) -> None:
    result = build_layer(tmp_path / "layer.zip", python=HERE, wheels=fake_wheels)
    names = entries(result.out)
    tops = {name.split("/")[1] for name in names if name.count("/") >= 2}
    assert {"lambda_kit", "messy"} <= tops
    assert not tops & {"boto3", "botocore", "urllib3", "s3transfer", "jmespath", "python_dateutil", "six"}
    assert not tops & {"tests", "bin", "lambda_kit_dev"}
    assert "python/messy/testing.py" in names
    assert not [name for name in names if "/tests/" in name or "/test/" in name]
    assert not [name for name in names if name.endswith(".pyc") and ".cpython-39" in name]
    assert any("the Lambda runtime has them" in line and "botocore 1.0" in line for line in result.left_out)
    assert any("scripts/headers/data" in line for line in result.left_out)
    assert any("py2only.py does not compile" in warning for warning in result.warnings)
    assert "1 __pycache__ directories, 1 loose .pyc: replaced" in result.left_out
    assert f"python/lambda_kit/__pycache__/__init__.{sys.implementation.cache_tag}.pyc" in names
    assert result.ok
    assert result.problems == ()


def test_a_layer_may_ship_the_runtimes_packages_when_asked(tmp_path: Path, fake_wheels: list[Path]) -> None:
    result = build_layer(
        tmp_path / "layer", python=HERE, wheels=fake_wheels, include_runtime_packages=True, bytecode=False
    )
    assert (result.out / "python" / "botocore" / "__init__.py").is_file()
    assert (result.out / "python" / "python_dateutil" / "__init__.py").is_file()
    assert result.zipped is None
    assert result.sha256 is None
    assert result.bytecode.startswith("none")
    assert not list(result.out.rglob("*.pyc"))
    assert stat.S_IMODE((result.out / "python" / "six" / "__init__.py").stat().st_mode) == 0o644
    text = result.summary()
    assert "MB zipped" not in text
    assert "sha256" not in text
    assert "of 250.0 MB unzipped (this output alone)\n" in text


def test_a_wheel_for_another_platform_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path, "native", "1.0", {"native.py": b""}, tag="cp312-cp312-manylinux_2_17_aarch64"
    )
    with pytest.raises(BuildError, match=r"cannot run on python3\.12 x86_64: its platform is"):
        build_layer(tmp_path / "layer.zip", python="3.12", wheels=[wheel], bytecode=False)


def test_a_file_that_is_not_named_like_a_wheel_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pydantic.whl").write_bytes(b"")
    with pytest.raises(BuildError, match="not a wheel file name"):
        build_layer(tmp_path / "layer.zip", wheels=[tmp_path / "pydantic.whl"], bytecode=False)


def test_an_interpreter_that_fails_to_compile_is_a_build_error(tmp_path: Path) -> None:
    from lambda_kit_dev.layer._bytecode import compile_tree

    with pytest.raises(BuildError, match="compiling bytecode with /bin/false failed"):
        compile_tree(Interpreter("/bin/false", "3.12.0"), tmp_path, [("a.py", "/var/task/a.py", UNCHECKED)])


def test_the_unrelated_lambda_kit_from_the_index_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "lambda-kit", "0.3", {"lambda_kit/__init__.py": b""})
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return event\n")
    with pytest.raises(BuildError, match="unrelated 'lambda-kit' project") as raised:
        build_bundle(source, tmp_path / "out.zip", wheels=[wheel], bytecode=False)
    assert "lambda-perf-kit" in str(raised.value)
    with pytest.raises(BuildError, match="unrelated 'lambda-kit' project"):
        build_bundle(source, tmp_path / "out.zip", requirements=["lambda-kit>=0.1"], bytecode=False)


def test_a_native_module_for_another_machine_or_python_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("import fast\n")
    (source / "fast.cpython-311-x86_64-linux-gnu.so").write_bytes(elf_header(62))
    (source / "arm.abi3.so").write_bytes(elf_header(183))
    (source / "plugins.so.d").mkdir()  # matches *.so* but is a directory
    (source / "plugins.so.d" / "README").write_text("")
    (source / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    result = build_bundle(source, tmp_path / "out.zip", python="3.12", arch="arm64", bytecode=False)
    warnings = "\n".join(result.warnings)
    assert "fast.cpython-311-x86_64-linux-gnu.so is x86_64 code; arm64 Lambda cannot load it" in warnings
    assert "*.cpython-312-aarch64-linux-gnu.so or *.abi3.so" in warnings
    assert "arm.abi3.so" not in warnings
    assert "dangling.py" not in entries(result.out)


def test_a_bundle_compiles_its_own_code_checked_and_its_requirements_unchecked(
    tmp_path: Path, fake_wheels: list[Path]
) -> None:
    source = tmp_path / "src"
    (source / "tests").mkdir(parents=True)
    (source / "app.py").write_text("def handler(event, context):\n    return event\n")
    (source / "tests" / "test_app.py").write_text("")
    (source / ".venv").mkdir()
    (source / ".venv" / "junk.py").write_text("")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "app.cpython-39.pyc").write_bytes(b"old")
    result = build_bundle(source, source / "build" / "function.zip", python=HERE, wheels=fake_wheels[-1:])
    names = entries(result.out)
    tag = sys.implementation.cache_tag
    assert "app.py" in names
    assert "messy/__init__.py" in names
    assert not [name for name in names if name.startswith(("tests/", ".venv/", "build/"))]
    assert any("tests/: tests and scripts of the source tree" in line for line in result.left_out)
    assert any("1 __pycache__ directories of src/" in line for line in result.left_out)
    with zipfile.ZipFile(result.out) as archive:
        own = read_pyc_header(archive.read(f"__pycache__/app.{tag}.pyc"))
        vendored = read_pyc_header(archive.read(f"messy/__pycache__/__init__.{tag}.pyc"))
    assert own is not None
    assert own.kind == CHECKED
    assert vendored is not None
    assert vendored.kind == UNCHECKED
    assert "checked-hash .pyc for the 1 modules of the source tree" in result.bytecode


def test_two_builds_of_the_same_inputs_are_byte_identical(tmp_path: Path, fake_wheels: list[Path]) -> None:
    first = build_layer(tmp_path / "1.zip", python=HERE, wheels=fake_wheels)
    second = build_layer(tmp_path / "2.zip", python=HERE, wheels=list(reversed(fake_wheels)))
    assert first.sha256 == second.sha256
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


def test_without_its_target_interpreter_a_build_says_what_it_costs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_wheels: list[Path]
) -> None:
    """No CPython of the target here: no bytecode, and pip runs for this Python (offline: --find-links)."""
    other = "3.10" if HERE != "3.10" else "3.11"
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index, "pydantic", "2.99", {"pydantic/__init__.py": b""})
    make_wheel(index, "messy", "2.0", {"messy/__init__.py": b""})
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    offline = ["--no-index", "--find-links", str(index)]
    result = build_layer(tmp_path / "layer.zip", python=other, extras=["pydantic"], pip_options=offline)
    assert result.interpreter is None
    assert result.wheels == ("pydantic-2.99-py3-none-any.whl",)
    assert not [name for name in entries(result.out) if name.endswith(".pyc")]
    warning = "\n".join(result.warnings)
    assert f"no CPython {other} found here" in warning
    assert "every cold start compiles each module it imports" in warning
    assert f"pip evaluated environment markers for this Python ({HERE}), not {other}" in warning
    with pytest.raises(BuildError, match=f"no CPython {other} found here"):
        build_layer(tmp_path / "again.zip", python=other, require_bytecode=True)
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("import messy\n")
    bundle = build_bundle(
        source, tmp_path / "f.zip", python=other, requirements=["messy"], pip_options=offline
    )
    assert bundle.wheels == ("messy-2.0-py3-none-any.whl",)
    assert any("the bundle has no bytecode" in warning for warning in bundle.warnings)


def test_outputs_in_the_way_are_refused(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(BuildError, match="exists and is not empty"):
        build_layer(tmp_path / "full", bytecode=False)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    with pytest.raises(BuildError, match="inside the tree it is built from"):
        build_layer(ROOT / "lambda_kit" / "layer.zip", bytecode=False)
    with pytest.raises(ConfigurationError, match="function's code directory"):
        build_bundle(tmp_path / "missing", tmp_path / "out.zip")


def test_the_size_check_counts_the_layers_and_fires_over_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    huge_layer = tmp_path / "huge"
    (huge_layer / "python").mkdir(parents=True)
    with open(huge_layer / "python" / "model.bin", "wb") as sparse:  # 251 MB that take no disk
        sparse.truncate(251 * 1024 * 1024)
    result = build_bundle(source, tmp_path / "out.zip", with_layers=[huge_layer], bytecode=False)
    assert not result.ok
    assert result.combined_unzipped > LAMBDA_LIMITS.unzipped
    assert [problem.limit for problem in result.problems] == ["unzipped"]
    assert "error: 251.0 MB unzipped is over Lambda's 250.0 MB" in result.summary()
    tiny = build_bundle(
        source, tmp_path / "tiny.zip", bytecode=False, limits=Limits(unzipped=10**6, zipped=10)
    )
    assert tiny.ok
    assert [problem.limit for problem in tiny.problems] == ["zipped"]
    assert "warning: " in tiny.summary()
    assert "of 0.0 MB zipped" in tiny.summary()


def test_the_summary_and_json_report_sizes_contents_and_bytecode(
    tmp_path: Path, fake_wheels: list[Path]
) -> None:
    result = build_layer(tmp_path / "layer.zip", python=HERE, wheels=fake_wheels[-1:])
    text = result.summary(top=1)
    assert text.startswith(f"lambda-kit layer: {tmp_path / 'layer.zip'} (python{HERE}, x86_64)\n")
    assert f"sha256 {result.sha256}" in text
    assert "more entries)" in text
    assert "of 250.0 MB unzipped (this output alone)" in text
    document = result.to_dict()
    assert json.loads(json.dumps(document)) == document
    assert document["ok"] is True
    assert result.interpreter is not None
    assert document["python"] == result.interpreter.version
    messy = next(entry for entry in document["contents"] if entry["name"] == "messy")
    assert messy["wheel"] == "messy-2.0-py3-none-any.whl"
    assert {entry["name"] for entry in document["contents"]} >= {"lambda_kit", "*.dist-info (metadata)"}


# -- the command line -------------------------------------------------------------------------


def _parse(command: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"lambda-kit {command}")
    add_arguments(parser, command)  # type: ignore[arg-type]
    return parser.parse_args(argv)


def test_the_layer_command_builds_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parse("layer", ["--python", HERE, "--out", str(tmp_path / "layer.zip")])
    assert (args.extras, args.arch, args.build_command) == ([], "x86_64", "layer")
    assert run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("lambda-kit layer: ")
    assert "lambda_kit" in out
    args = _parse("layer", ["--python", HERE, "--extras", "pydantic, protobuf", "--json", "--out", "x.zip"])
    assert args.extras == ["pydantic", "protobuf"]


def test_the_layer_command_refuses_bad_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("layer", ["--python", "3.9"])
    assert "invalid choice" in capsys.readouterr().err
    args = _parse("layer", ["--extras", "tools", "--out", "never.zip"])
    assert run(args) == 2
    assert "lambda-kit layer: error: Invalid extra 'tools'" in capsys.readouterr().err


def test_the_bundle_command_reads_requirements_beside_the_code_and_counts_layers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    with open(layer / "python" / "big.bin", "wb") as sparse:
        sparse.truncate(300 * 1024 * 1024)
    monkeypatch.chdir(tmp_path)
    args = _parse("bundle", [str(source), "--python", HERE, "--layer", str(layer), "--json"])
    assert run(args) == 1  # written, but Lambda would refuse it
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert document["out"] == f"build/bundle-py{HERE}-x86_64.zip"
    assert (tmp_path / "build" / f"bundle-py{HERE}-x86_64.zip").is_file()
    (source / "requirements.txt").write_text("surely-no-such-distribution-here==0.0.1\n")
    args = _parse(
        "bundle",
        [
            str(source),
            "--out",
            str(tmp_path / "b.zip"),
            "--pip-option=--no-index",
            f"--pip-option=--find-links={tmp_path}",
        ],
    )
    assert run(args) == 2
    assert "surely-no-such-distribution-here" in capsys.readouterr().err


def test_the_builder_is_a_lambda_kit_error_and_imports_lazily() -> None:
    assert issubclass(BuildError, LambdaKitError)
    code = (
        "import sys, lambda_kit_dev.layer as layer\n"
        "before = set(sys.modules)\n"
        "layer.add_arguments\n"
        "print(sorted(name for name in before if name.startswith('lambda_kit_dev.layer.')))\n"
        "print(sorted(name for name in set(sys.modules) - before if name.startswith('lambda_kit_dev')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, added = done.stdout.splitlines()
    assert before == "[]"  # the package itself loads none of its parts
    assert added == "['lambda_kit_dev.layer._command', 'lambda_kit_dev.layer._target']"
    import lambda_kit_dev.layer

    assert lambda_kit_dev.layer.__all__ == [
        "LAMBDA_LIMITS",
        "RUNTIME_PACKAGES",
        "BuildError",
        "BuildResult",
        "Interpreter",
        "LimitProblem",
        "Limits",
        "Target",
        "add_arguments",
        "build_bundle",
        "build_layer",
        "check_limits",
        "find_interpreter",
        "run",
    ]
    for name in lambda_kit_dev.layer.__all__:
        assert getattr(lambda_kit_dev.layer, name) is not None
    assert "build_layer" in dir(lambda_kit_dev.layer)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lambda_kit_dev.layer.nope  # noqa: B018
