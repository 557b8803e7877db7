"""--layer: layers laid out as Lambda's /opt, and never run under the wrong Python by accident."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.emulator._layers import Layers, check_layer, inspect_layer, machine_name
from lambda_kit_dev.emulator._python import Interpreter

pytestmark = pytest.mark.emulator

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
OTHER_MINOR = 12 if sys.version_info[1] != 12 else 11
ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\x3e\x00" + b"\x00" * 12
ELF_ARM64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00" + b"\x00" * 12


def _layer(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    return root


def _zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_one_directory_is_used_where_it_is(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "layer", {"python/mod.py": "VALUE = 1\n"})
    layers = Layers([layer])
    assert layers.root == str(layer)
    assert layers.python_path((3, 12)) == [
        str(layer / "python" / "lib" / "python3.12" / "site-packages"),
        str(layer / "python"),
    ]
    assert layers.directory("bin") is None
    layers.close()
    assert layer.exists()  # never removed: it is the user's


def test_later_layers_replace_earlier_files_as_in_opt(tmp_path: Path) -> None:
    first = _zip(
        tmp_path / "first.zip",
        {"python/shared.py": "VALUE = 'first'\n", "python/pkg/a.py": "", "bin/tool": "#!/bin/sh\n"},
    )
    second = _layer(tmp_path / "second", {"python/shared.py": "VALUE = 'second'\n", "python/pkg/b.py": ""})
    layers = Layers([first, second])
    root = Path(layers.root or "")
    assert (root / "python" / "shared.py").read_text() == "VALUE = 'second'\n"
    assert (root / "python" / "pkg" / "a.py").exists()  # a package split over two layers is whole
    assert (root / "python" / "pkg" / "b.py").exists()
    assert layers.directory("bin") == str(root / "bin")
    assert (second / "python" / "shared.py").read_text() == "VALUE = 'second'\n"  # untouched
    layers.close()
    assert not root.exists()


def test_an_executable_in_a_zip_stays_executable(tmp_path: Path) -> None:
    archive = tmp_path / "tools.zip"
    with zipfile.ZipFile(archive, "w") as out:
        info = zipfile.ZipInfo("bin/tool")
        info.external_attr = 0o755 << 16
        out.writestr(info, "#!/bin/sh\necho tool\n")
    layers = Layers([archive])
    try:
        assert os.access(os.path.join(layers.root or "", "bin", "tool"), os.X_OK)
    finally:
        layers.close()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"mod.py": ""}, "pass the layer's root"),
        ({"site-packages/x.py": ""}, "no python/, bin/ or lib/"),
    ],
)
def test_a_directory_that_is_not_a_layer_is_refused(
    tmp_path: Path, files: dict[str, bytes | str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        Layers([_layer(tmp_path / "python", files)])
    assert caught.value.context["setting"] == "layers"


def test_neither_zip_nor_directory_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "layer.txt"
    text.write_text("not a zip")
    for source in (text, tmp_path / "missing.zip"):
        with pytest.raises(ConfigurationError, match="neither a directory nor a zip"):
            Layers([source])


def test_what_a_layer_is_built_for(tmp_path: Path) -> None:
    layer = _layer(
        tmp_path / "layer",
        {
            "python/pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so": ELF_X86_64,
            "python/google/_upb/_message.abi3.so": ELF_X86_64,
            "python/pydantic_core-2.0.dist-info/WHEEL": "Wheel-Version: 1.0\n"
            "Tag: cp312-cp312-manylinux_2_17_x86_64\n",
            "python/six-1.0.dist-info/WHEEL": "Tag: py2-none-any\nTag: py3-none-any\n",
            "python/pkg/__pycache__/mod.cpython-311.pyc": b"",
        },
    )
    target = inspect_layer(layer)
    assert target.versions == {(3, 12)}
    assert target.bytecode_versions == {(3, 11)}
    assert target.machines == {"x86_64"}
    check_layer(str(layer), target, (3, 12), "x86_64", "python3.12")  # matches: no error
    with pytest.raises(ConfigurationError) as caught:
        check_layer(str(layer), target, (3, 11), "x86_64", "/usr/bin/python3.11")
    message = str(caught.value)
    assert "built for Python 3.12" in message
    assert "runs Python 3.11 (/usr/bin/python3.11)" in message
    assert "_pydantic_core.cpython-312-x86_64-linux-gnu.so" in message
    assert "--python 3.12" in message
    assert caught.value.context["layer_python"] == "3.12"
    assert caught.value.context["python"] == "3.11"


def test_bytecode_tells_when_nothing_else_does(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "layer", {"python/pkg/__pycache__/mod.cpython-312.pyc": b""})
    target = inspect_layer(layer)
    assert target.versions == set()
    with pytest.raises(ConfigurationError, match=r"built for Python 3\.12 \(its bytecode: pkg/__pycache__"):
        check_layer(str(layer), target, (3, 11), "x86_64", "python3.11")


def test_a_layer_for_another_machine_is_refused(tmp_path: Path) -> None:
    layer = _layer(
        tmp_path / "layer",
        {
            "python/fast/_speedups.cpython-312-aarch64-linux-gnu.so": ELF_ARM64,
            "python/fast-1.0.dist-info/WHEEL": "Tag: cp312-cp312-manylinux_2_17_aarch64\n",
        },
    )
    target = inspect_layer(layer)
    assert target.machines == {"arm64"}
    with pytest.raises(ConfigurationError, match=r"built for arm64.*this machine runs x86_64") as caught:
        check_layer(str(layer), target, (3, 12), "x86_64", "python3.12")
    assert caught.value.context["layer_machine"] == "arm64"


def test_machine_names() -> None:
    assert machine_name("AMD64") == "x86_64"
    assert machine_name("manylinux_2_17_aarch64") == "arm64"
    assert machine_name("ppc64le") == "ppc64le"


_NAMES = st.sampled_from(
    [
        "python/a/_x.cpython-311-x86_64-linux-gnu.so",
        "python/b/_y.cpython-312-aarch64-linux-gnu.so",
        "python/c/_z.abi3.so",
        "python/d/__pycache__/m.cpython-313.pyc",
        "python/d/__pycache__/m.cpython-310.opt-1.pyc",
        "python/e-1.dist-info/WHEEL",
        "python/f/plain.py",
        "bin/tool.so",
        "lib/libx.so",
    ]
)
_CONTENT = st.sampled_from([ELF_X86_64, ELF_ARM64, b"", b"Tag: cp313-cp313-win_amd64\n", b"\x7fELF"])


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_NAMES, _CONTENT, max_size=6))
def test_a_zip_and_its_directory_say_the_same(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]
) -> None:
    base = tmp_path_factory.mktemp("same")
    (base / "dir").mkdir()
    from_directory = inspect_layer(_layer(base / "dir", dict(files)))
    from_zip = inspect_layer(_zip(base / "layer.zip", dict(files)))
    assert from_directory == from_zip
    assert all(version[0] == 3 for version in from_directory.versions | from_directory.bytecode_versions)


def test_layers_go_on_sys_path_after_the_task_root(tmp_path: Path, handlers: Path) -> None:
    site = f"python/lib/python{HERE}/site-packages"
    first = _layer(
        tmp_path / "first",
        {
            f"{site}/from_site.py": "VALUE = 'site-packages'\n",
            "python/shadowed.py": "VALUE = 'python/'\n",
            f"{site}/shadowed.py": "VALUE = 'site-packages first'\n",
            "python/replaced.py": "VALUE = 'first layer'\n",
            "bin/tool": "",
            "lib/libnothing.so": "",
        },
    )
    second = _zip(tmp_path / "second.zip", {"python/replaced.py": "VALUE = 'second layer'\n"})
    with Emulator("runtime_info.handler", task_root=handlers, layers=[first, second]) as fn:
        opt = fn.layer_root
        assert opt is not None
        result = fn.invoke({"modules": ["from_site", "shadowed", "replaced", "basic"]})
    assert result.ok, result.error
    info = result.json()
    modules = info["modules"]
    assert modules["from_site"]["value"] == "site-packages"
    assert modules["shadowed"]["value"] == "site-packages first"
    assert modules["replaced"]["value"] == "second layer"
    assert modules["basic"]["file"] == str(handlers / "basic.py")  # the task root comes first
    path = info["sys_path"]
    assert (
        path.index(str(handlers))
        < path.index(os.path.join(opt, site))
        < path.index(os.path.join(opt, "python"))
    )
    assert info["path"].endswith(os.pathsep + os.path.join(opt, "bin"))
    assert info["ld_library_path"].endswith(os.path.join(opt, "lib"))
    assert not os.path.exists(opt)  # the temporary /opt is gone with the emulator


def test_a_layer_for_another_python_cannot_run_by_accident(tmp_path: Path, handlers: Path) -> None:
    layer = _zip(
        tmp_path / "layer.zip",
        {f"python/pydantic_core/_pydantic_core.cpython-3{OTHER_MINOR}-x86_64-linux-gnu.so": ELF_X86_64},
    )
    with pytest.raises(ConfigurationError) as caught:
        Emulator("basic.echo", task_root=handlers, layers=[layer])
    assert f"built for Python 3.{OTHER_MINOR}" in str(caught.value)
    assert f"runs Python {HERE}" in str(caught.value)
    assert str(layer) in str(caught.value)


def test_a_python312_layer_runs_under_312_and_not_under_this_one(
    python312: Interpreter, handlers: Path, tmp_path: Path
) -> None:
    layer = _layer(
        tmp_path / "layer",
        {
            "python/helper.py": "VALUE = 'from the layer'\n",
            "python/helper_pkg-1.0.dist-info/WHEEL": "Tag: cp312-cp312-manylinux_2_17_x86_64\n",
        },
    )
    with Emulator("runtime_info.handler", task_root=handlers, python="3.12", layers=[layer]) as fn:
        result = fn.invoke({"modules": ["helper"]})
    assert result.ok, result.error
    assert result.json()["modules"]["helper"]["value"] == "from the layer"
    if sys.version_info[:2] != (3, 12):
        with pytest.raises(ConfigurationError, match=f"runs Python {HERE}"):
            Emulator("runtime_info.handler", task_root=handlers, layers=[layer])


def test_a_layer_path_that_pythonpath_cannot_carry_is_refused(tmp_path: Path, handlers: Path) -> None:
    layer = _layer(tmp_path / f"a{os.pathsep}b", {"python/x.py": ""})
    with pytest.raises(ConfigurationError, match="cannot be put on PYTHONPATH") as caught:
        Emulator("basic.echo", task_root=handlers, layers=[layer])
    assert caught.value.context["setting"] == "layers"


def test_an_interpreter_that_cannot_say_what_it_is_still_gets_its_layers(
    tmp_path: Path, handlers: Path
) -> None:
    # The wrapper answers every question about itself with "3 9" (like the one in
    # test_emulator.py): the layer check uses that, and the run shows the real version.
    wrapper = tmp_path / "python"
    wrapper.write_text(
        f'#!/bin/sh\ncase "$2" in *version_info*) echo "3 {sys.version_info[1]}"; exit 0;; esac\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    layer = _layer(tmp_path / "layer", {"python/helper.py": "VALUE = 2\n"})
    with Emulator("runtime_info.handler", task_root=handlers, python=str(wrapper), layers=[layer]) as fn:
        result = fn.invoke({"modules": ["helper"]})
    assert result.ok, result.error
    assert result.json()["modules"]["helper"]["value"] == 2


def test_no_layers_lay_out_nothing() -> None:
    layers = Layers([])
    assert layers.root is None
    assert layers.python_path((3, 12)) == []
    assert layers.directory("bin") is None


def test_unreadable_files_tell_nothing(tmp_path: Path) -> None:
    from lambda_kit_dev.emulator import _layers

    assert _layers._read_file(str(tmp_path), 20) == b""  # a directory
    archive = _zip(tmp_path / "layer.zip", {"python/x.so": ELF_X86_64})
    with zipfile.ZipFile(archive) as opened:
        member = opened.getinfo("python/x.so")
        member.flag_bits |= 0x1  # "encrypted": zipfile refuses to read it without a password
        assert _layers._read_member(opened, member, 20) == b""


def test_layers_are_copied_where_they_cannot_be_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: str, destination: str) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    first = _layer(tmp_path / "first", {"python/a.py": "A = 1\n"})
    second = _layer(tmp_path / "second", {"python/a.py": "A = 2\n"})
    layers = Layers([first, second])
    try:
        assert Path(layers.root or "", "python", "a.py").read_text() == "A = 2\n"
    finally:
        layers.close()


def test_a_damaged_zip_is_a_clear_error(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "layer.zip", {"python/a.py": "A = 1\n" * 100})
    data = bytearray(archive.read_bytes())
    start = data.index(b"A = 1")
    data[start : start + 5] = b"B = 2"  # the member no longer matches its CRC
    archive.write_bytes(bytes(data))
    with pytest.raises(ConfigurationError, match="Could not lay out the layers") as caught:
        Layers([archive])
    assert caught.value.context["setting"] == "layers"
