"""The README's example works as written: its files saved, its commands and its Python run.

The README marks each file a reader saves with ``<!-- save as: NAME -->`` before its
block (the comment renders as nothing). Every ``$ `` line of its ``console`` blocks is a
command a reader types: each runs, as written, in a fresh directory holding those files,
and must succeed. Every other Python block runs there too. The ``make`` lines of "Set up"
are this repository's own development commands (``make test`` is what runs this test)
and have no ``$`` prompt; ``pip install`` reaches the package index, which tests do not.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"(?:<!-- save as: (\S+) -->\n)?^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str | None, str, str]]:
    return [(match.group(1), match.group(2), match.group(3)) for match in _BLOCK.finditer(README)]


def _commands() -> list[str]:
    return [
        line[2:]
        for _, language, body in _blocks()
        if language == "console"
        for line in body.splitlines()
        if line.startswith("$ ")
    ]


def _snippets() -> list[str]:
    return [body for name, language, body in _blocks() if language == "python" and name is None]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the files the README asks the reader to save."""
    directory = tmp_path_factory.mktemp("readme")
    saved = [(name, body) for name, _, body in _blocks() if name is not None]
    assert {name for name, _ in saved} >= {"app.py", "event.json", "seed.json"}
    for name, body in saved:
        (directory / name).write_text(body, encoding="utf-8")
    return directory


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # lambda-kit
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_readme_has_commands_and_snippets() -> None:
    commands = _commands()
    assert any(command.startswith("lambda-kit bench ") for command in commands)
    assert any(command.startswith("lambda-kit invoke ") for command in commands)
    assert _snippets()


@pytest.mark.parametrize("command", _commands())
def test_command_succeeds_as_written(project: Path, command: str) -> None:
    done = _run(shlex.split(command), project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if command.startswith("lambda-kit bench "):
        assert re.search(r"secretsmanager\.GetSecretValue\s+1\.00\s+0\.00", done.stdout), done.stdout
    if command.startswith("lambda-kit invoke "):
        assert '"statusCode": 200' in done.stdout
        assert '\\"db_user\\":\\"app\\"' in done.stdout


@pytest.mark.parametrize("snippet", _snippets())
def test_python_snippet_runs_as_written(project: Path, snippet: str) -> None:
    done = _run([sys.executable, "-c", snippet], project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "{'secretsmanager.GetSecretValue': 1}" in done.stdout
