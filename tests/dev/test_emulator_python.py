"""--python: a version is Lambda's runtime of that version, a path is used as it is."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator import Emulator, _python
from lambda_kit_dev.emulator._python import Interpreter, parse_version, probe, resolve
from lambda_kit_dev.exceptions import EmulatorError

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("3.12", (3, 12)),
        ("python3.12", (3, 12)),
        (" python3.9 ", (3, 9)),
        ("3.10", (3, 10)),
        ("/usr/bin/python3.12", None),
        ("python3", None),
        ("3", None),
        ("2.7", None),
        ("nodejs20.x", None),
        ("python3.12.1", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, int] | None) -> None:
    assert parse_version(text) == version


@given(st.text(max_size=40))
def test_parse_version_reads_only_python3_versions(text: str) -> None:
    found = parse_version(text)
    if found is not None:
        assert found[0] == 3
        assert text.strip().removeprefix("python") == f"3.{found[1]}"


def _script(path: Path, body: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_probe_describes_an_interpreter_once(tmp_path: Path) -> None:
    facts = probe(sys.executable)
    assert facts is not None
    assert facts.version == sys.version_info[:2]
    assert facts.cache_tag == sys.implementation.cache_tag
    assert facts.runtime_client  # this interpreter has awslambdaric
    assert facts.version_text == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert sys.prefix in facts.prefixes
    counter = tmp_path / "count"
    python = _script(tmp_path / "python", f'echo x >> "{counter}"\nexec "{sys.executable}" "$@"\n')
    assert probe(python) == probe(python)
    assert counter.read_text() == "x\n"  # asked once, then remembered
    assert probe(str(tmp_path / "missing")) is None
    assert probe(_script(tmp_path / "mute", "echo 'not json'\n")) is None


def test_a_path_without_awslambdaric_says_how_to_install_it(tmp_path: Path) -> None:
    # -S: no site-packages, so no awslambdaric
    bare = _script(tmp_path / "bare" / "python", f'exec "{sys.executable}" -S "$@"\n')
    with pytest.raises(EmulatorError) as caught:
        Emulator("basic.echo", python=bare)
    message = str(caught.value)
    assert f"awslambdaric is not installed for {bare}" in message
    assert f"{bare} -m pip install awslambdaric" in message
    assert f"--python {sys.version_info[0]}.{sys.version_info[1]}" in message


def test_this_interpreter_without_awslambdaric_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "awslambdaric" else real(name, *a)
    )
    with pytest.raises(EmulatorError, match="pip install awslambdaric"):
        resolve(None)


def test_a_path_is_used_as_it_is() -> None:
    assert resolve(sys.executable) == (sys.executable, probe(sys.executable))


def test_pyenv_versions_are_found_newest_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    minor = sys.version_info[1]
    versions = tmp_path / "versions"
    for name in (f"3.{minor}.1", f"3.{minor}.10", f"3.{minor}-dev", f"3.{minor}.2t", "other"):
        _script(versions / name / "bin" / f"python3.{minor}", f'exec "{sys.executable}" "$@"\n')
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    assert _python._pyenv_candidates((3, minor)) == [
        str(versions / f"3.{minor}.10" / "bin" / f"python3.{minor}"),
        str(versions / f"3.{minor}.1" / "bin" / f"python3.{minor}"),
    ]
    found = _python.find_interpreter((3, minor))
    assert found.version == (3, minor)


def test_a_version_with_no_interpreter_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError) as caught:
        Emulator("basic.echo", python="3.99")
    assert "No Python 3.99 interpreter found" in str(caught.value)
    assert "pyenv install 3.99" in str(caught.value)
    assert caught.value.context["setting"] == "python"


def test_an_interpreter_of_another_version_on_path_does_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(tmp_path / "bin" / "python3.98", f'exec "{sys.executable}" "$@"\n')  # answers 3.11
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigurationError, match=r"No Python 3\.98"):
        _python.find_interpreter((3, 98))


def test_cache_directory_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_RUNTIME_CACHE", str(tmp_path / "configured"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _python.cache_directory(tmp_path / "given") == str(tmp_path / "given")
    assert _python.cache_directory() == str(tmp_path / "configured")
    monkeypatch.delenv("LAMBDA_KIT_RUNTIME_CACHE")
    assert _python.cache_directory() == str(tmp_path / "xdg" / "lambda-kit" / "runtimes")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _python.cache_directory() == os.path.join(
        os.path.expanduser("~"), ".cache", "lambda-kit", "runtimes"
    )


def test_runtime_packages_are_pinned_to_this_interpreters(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    monkeypatch.setattr(_python, "RUNTIME_PACKAGES", ("awslambdaric", "no-such-package-lambda-kit"))
    assert _python._pins() == [
        f"awslambdaric=={metadata.version('awslambdaric')}",
        "no-such-package-lambda-kit",
    ]


def test_a_runtime_environment_that_cannot_be_created_says_why(tmp_path: Path) -> None:
    failing = _script(tmp_path / "python", "echo 'venv: no space left on device' >&2\nexit 1\n")
    home = tmp_path / "cache" / "env"
    with pytest.raises(EmulatorError) as caught:
        _python._create(failing, str(home), ["awslambdaric"])
    assert "no space left on device" in str(caught.value)
    assert "package index must be reachable" in str(caught.value)
    assert not home.exists()  # nothing half-built is left
    with pytest.raises(EmulatorError, match="Could not prepare"):
        _python._create(str(tmp_path / "missing"), str(home), ["awslambdaric"])


def test_a_broken_runtime_environment_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The marker says "ready" but the interpreter cannot import awslambdaric.
    base = probe(sys.executable)
    assert base is not None
    monkeypatch.setattr(_python, "find_interpreter", lambda version: base)
    monkeypatch.setattr(_python, "_create", lambda base, home, pins: os.makedirs(home))
    with pytest.raises(EmulatorError, match="does not work"):
        _python.runtime_environment((3, 11), cache_dir=tmp_path)
    assert [path.name for path in tmp_path.iterdir() if path.is_dir()]  # the marker's directory


def test_a_version_is_lambdas_clean_runtime(python312: Interpreter, handlers: Path) -> None:
    announced: list[str] = []
    executable, facts = resolve("python3.12", log=announced.append)
    assert executable == python312.executable
    assert facts == python312
    assert announced == []  # prepared already: nothing to announce
    with Emulator("runtime_info.handler", task_root=handlers, python="3.12") as fn:
        result = fn.invoke({"modules": ["boto3", "awslambdaric", "lambda_kit", "hypothesis"]})
    assert result.ok, result.error
    info = result.json()
    assert info["version"] == [3, 12]
    assert info["execution_env"] == "AWS_Lambda_python3.12"
    assert info["dont_write_bytecode"] is True
    assert info["modules"]["boto3"] is not None  # preinstalled, as on Lambda
    assert info["modules"]["lambda_kit"] is None  # from a layer or the task root only
    assert info["modules"]["hypothesis"] is None
    assert info["leaked"] == []
