"""What a build is for: the Lambda runtime's Python and architecture, and its interpreter here.

Lambda's python3.10 and python3.11 runtimes run on Amazon Linux 2 (glibc 2.26);
python3.12 and python3.13 on Amazon Linux 2023 (glibc 2.34). A wheel fits a runtime
when its CPython tag is the runtime's and its manylinux tag asks for no newer glibc
than the runtime's, on the runtime's machine (x86_64, or aarch64 for ``arm64``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lambda_kit.exceptions import ConfigurationError

PYTHONS = ("3.10", "3.11", "3.12", "3.13")
ARCHITECTURES = ("x86_64", "arm64")

# The runtime's glibc, by Python: Amazon Linux 2 for 3.10 and 3.11, 2023 for 3.12 and 3.13.
_GLIBC_MINOR = {"3.10": 26, "3.11": 26, "3.12": 34, "3.13": 34}
_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
# The oldest manylinux glibc that wheels are built for, by machine (aarch64 starts at 2.17).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
# Legacy names pip still needs spelled out for the wheels that only carry them.
_LEGACY = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}


@dataclass(frozen=True)
class Target:
    """A Lambda runtime: ``python`` is ``"3.10"`` to ``"3.13"``, ``arch`` is ``x86_64`` or ``arm64``.

    Example:
        >>> Target("3.12", "arm64").platform_tags[:2]
        ('manylinux_2_34_aarch64', 'manylinux_2_33_aarch64')
        >>> Target("3.12").runtime
        'python3.12'
    """

    python: str = "3.12"
    arch: str = "x86_64"

    def __post_init__(self) -> None:
        if self.python not in PYTHONS:
            raise ConfigurationError(
                f"Invalid python {self.python!r}; expected one of: {', '.join(PYTHONS)} "
                "(the Lambda runtimes lambda-kit supports)",
                setting="python",
                value=self.python,
            )
        if self.arch not in ARCHITECTURES:
            raise ConfigurationError(
                f"Invalid arch {self.arch!r}; expected one of: {', '.join(ARCHITECTURES)}",
                setting="arch",
                value=self.arch,
            )

    @property
    def runtime(self) -> str:
        """The Lambda runtime identifier, e.g. ``python3.12``."""
        return f"python{self.python}"

    @property
    def machine(self) -> str:
        """The machine name in wheel tags and ``uname -m``: ``x86_64`` or ``aarch64``."""
        return _MACHINE[self.arch]

    @property
    def abi(self) -> str:
        """The CPython ABI tag, e.g. ``cp312``."""
        return "cp" + self.python.replace(".", "")

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """The manylinux tags the runtime accepts, the most specific (newest glibc) first."""
        machine = self.machine
        tags: list[str] = []
        for minor in range(_GLIBC_MINOR[self.python], _OLDEST_GLIBC_MINOR[machine] - 1, -1):
            tags.append(f"manylinux_2_{minor}_{machine}")
            legacy = _LEGACY.get(minor)
            if legacy is not None:
                tags.append(f"{legacy}_{machine}")
        return tuple(tags)

    @property
    def extension_suffix(self) -> str:
        """The suffix of a version-specific extension module, e.g. ``.cpython-312-x86_64-linux-gnu.so``."""
        return f".cpython-{self.abi[2:]}-{self.machine}-linux-gnu.so"


@dataclass(frozen=True)
class Interpreter:
    """A CPython interpreter on this machine: its path, its full version (``3.12.1``), its pip's version."""

    path: str
    version: str
    pip: str | None = None

    @property
    def pip_usable(self) -> bool:
        """Whether its own pip can fetch wheels for a platform (pip 22 or later)."""
        major = (self.pip or "0").split(".")[0]
        return major.isdigit() and int(major) >= 22


_PROBE = """import sys
try:
    from importlib.metadata import version
    pip = version("pip")
except Exception:
    pip = "-"
print(sys.implementation.name, "%d.%d.%d" % sys.version_info[:3], pip)
"""


def probe(path: str | os.PathLike[str]) -> Interpreter | None:
    """The interpreter at ``path`` if it runs and is CPython, else None."""
    try:
        done = subprocess.run(
            [os.fspath(path), "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"PATH": os.environ.get("PATH", os.defpath)},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.split()
    if done.returncode != 0 or len(fields) != 3 or fields[0] != "cpython":
        return None
    return Interpreter(os.fspath(path), fields[1], None if fields[2] == "-" else fields[2])


def _patch(path: Path) -> tuple[int, ...]:
    """3.12.10 sorts after 3.12.9: pyenv's version directories compared by number."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def candidates(python: str) -> list[str]:
    """Where an interpreter for ``python`` (``"3.12"``) may be, the likeliest first.

    This process's own interpreter when it is that version, pyenv's versions
    (``$PYENV_ROOT`` or ``~/.pyenv``, the newest patch release first), then
    ``python3.X`` on ``PATH``.
    """
    found: list[str] = []
    if "{}.{}".format(*sys.version_info[:2]) == python:
        found.append(sys.executable)
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    for root in dict.fromkeys(root for root in roots if root):
        paths = Path(root, "versions").glob(f"{python}.*/bin/python{python}")
        found.extend(str(path) for path in sorted(paths, key=_patch, reverse=True))
    on_path = shutil.which(f"python{python}")
    if on_path is not None:
        found.append(on_path)
    return list(dict.fromkeys(found))


def find_interpreter(python: str, explicit: str | os.PathLike[str] | None = None) -> Interpreter | None:
    """A working CPython ``python`` (``"3.12"``) on this machine, or None when there is none.

    Args:
        python: The target version, ``"3.10"`` to ``"3.13"``.
        explicit: A path to use instead of searching. It must be CPython ``python``.

    Raises:
        ConfigurationError: ``explicit`` does not run, or runs another Python.
    """
    if explicit is not None:
        interpreter = probe(explicit)
        if interpreter is None or not interpreter.version.startswith(python + "."):
            got = "does not run as CPython" if interpreter is None else f"is Python {interpreter.version}"
            raise ConfigurationError(
                f"Invalid interpreter {os.fspath(explicit)!r}: it {got}; expected CPython {python} "
                "(the runtime's Python compiles the bytecode)",
                setting="interpreter",
                value=os.fspath(explicit),
            )
        return interpreter
    for path in candidates(python):
        interpreter = probe(path)
        if interpreter is not None and interpreter.version.startswith(python + "."):
            return interpreter
    return None
