"""Wheels for the target runtime: resolved and fetched by pip, unpacked here.

pip does what it is good at, resolving requirements for another platform
(``pip download --only-binary=:all: --platform ... --python-version ...``); this
module unpacks the wheels itself, which takes milliseconds where ``pip install
--target`` takes seconds, and knows each wheel's tags for the summary. pip runs
under the target interpreter when there is one (its own pip, or this one with
``--python``), so that environment markers such as ``python_version < "3.11"`` are
the target's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lambda_kit_dev.layer._target import Interpreter, Target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# What every Lambda Python runtime already has on its path (/var/runtime up to 3.10,
# /var/lang/lib/python3.X/site-packages from 3.11): the AWS SDK and its dependencies.
# Left out unless asked for: the runtime's copy is loaded, with its bytecode. Their
# versions are the runtime's, which AWS updates; see "Runtime-included SDK versions"
# in the Lambda developer guide.
RUNTIME_PACKAGES = frozenset(
    {"boto3", "botocore", "urllib3", "s3transfer", "jmespath", "python-dateutil", "six"}
)

_WHEEL_NAME = re.compile(
    r"""^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?)
        -(?P<version>[A-Za-z0-9_.!+]+)
        (?:-(?P<build>\d[A-Za-z0-9_]*))?
        -(?P<python>[A-Za-z0-9_.]+)
        -(?P<abi>[A-Za-z0-9_.]+)
        -(?P<platform>[A-Za-z0-9_.]+)
        \.whl$""",
    re.VERBOSE,
)


def normalize(name: str) -> str:
    """A distribution name as the index compares it (PEP 503): ``Python_Dateutil`` → ``python-dateutil``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel's file name (PEP 427), each tag set expanded.

    Example:
        >>> name = WheelName.parse("pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_x86_64.whl")
        >>> name.distribution, name.abis, name.platforms
        ('pydantic-core', ('cp312',), ('manylinux_2_17_x86_64',))
    """

    distribution: str
    version: str
    build: str | None
    pythons: tuple[str, ...]
    abis: tuple[str, ...]
    platforms: tuple[str, ...]

    @classmethod
    def parse(cls, filename: str) -> WheelName:
        """Parse a wheel file name; :class:`ValueError` when it is not one."""
        match = _WHEEL_NAME.match(filename)
        if match is None:
            raise ValueError(f"not a wheel file name: {filename!r}")

        def tags(group: str) -> tuple[str, ...]:
            parts = tuple(match[group].split("."))
            if "" in parts:
                raise ValueError(f"empty {group} tag in wheel file name {filename!r}")
            return parts

        return cls(
            normalize(match["name"]),
            match["version"],
            match["build"],
            tags("python"),
            tags("abi"),
            tags("platform"),
        )

    @property
    def pure(self) -> bool:
        """A wheel for any platform (``none-any``), with no compiled code."""
        return self.platforms == ("any",)


def pip_command(interpreter: Interpreter | None, *, pip_here: bool | None = None) -> list[str]:
    """How to run pip for ``interpreter``, so that environment markers are the target Python's.

    The target's own pip when it has one (pip 22+); else this environment's pip with
    ``--python`` (pip 22.3+ runs its code under the target interpreter); else, with
    no pip here either (uv makes such environments), whichever interpreter there is.
    ``pip_here`` overrides the check for a pip in this environment.
    """
    if interpreter is not None and interpreter.pip_usable:
        return [interpreter.path, "-m", "pip"]
    if pip_here is None:
        import importlib.util

        pip_here = importlib.util.find_spec("pip") is not None
    if pip_here:
        command = [sys.executable, "-m", "pip"]
        if interpreter is not None and interpreter.path != sys.executable:
            command += ["--python", interpreter.path]
        return command
    return [interpreter.path if interpreter is not None else sys.executable, "-m", "pip"]


def download_command(
    requirements: Sequence[str],
    dest: Path,
    target: Target,
    *,
    interpreter: Interpreter | None = None,
    requirement_files: Sequence[Path] = (),
    pip_options: Sequence[str] = (),
) -> list[str]:
    """The ``pip download`` command line that fetches the target's wheels into ``dest``."""
    command = [*pip_command(interpreter), "download", "--dest", str(dest)]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.python]
    for tag in target.platform_tags:
        command += ["--platform", tag]
    command += ["--disable-pip-version-check", "--no-input", "--progress-bar", "off", *pip_options]
    for file in requirement_files:
        command += ["--requirement", str(file)]
    command += list(requirements)
    return command


def download_wheels(
    requirements: Sequence[str],
    dest: Path,
    target: Target,
    *,
    interpreter: Interpreter | None = None,
    requirement_files: Sequence[Path] = (),
    pip_options: Sequence[str] = (),
) -> list[Path]:
    """Resolve ``requirements`` for ``target`` and fetch their wheels into ``dest`` (new or empty).

    Args:
        requirements: PEP 508 requirement strings, e.g. ``["pydantic>=2.6"]``.
        dest: A new or empty directory: every wheel in it afterwards is one of the result.
        target: The runtime the wheels are for.
        interpreter: The target's interpreter here, if any: pip then evaluates
            environment markers for it instead of for this process's Python.
        requirement_files: requirements.txt files, passed to pip as ``--requirement``.
        pip_options: More pip options, e.g. ``["--no-index", "--find-links", "wheels/"]``.

    Returns:
        The wheel files, sorted by name.

    Raises:
        BuildError: pip failed, with what it said; most often a requirement has no
            wheel for the target (a source-only package, or none for this Python).
    """
    from lambda_kit_dev.layer._errors import BuildError

    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise BuildError(f"the wheel directory {str(dest)!r} is not empty", path=str(dest))
    if not requirements and not requirement_files:
        return []
    command = download_command(
        requirements,
        dest,
        target,
        interpreter=interpreter,
        requirement_files=requirement_files,
        pip_options=pip_options,
    )
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BuildError(
            f"pip could not fetch wheels for {target.runtime} {target.arch} "
            f"(manylinux, {target.abi}; source-only packages cannot be used: Lambda needs "
            f"wheels built for its platform):\n{said}",
            command=command,
            returncode=done.returncode,
        )
    return sorted(dest.glob("*.whl"))


@dataclass(frozen=True)
class InstalledWheel:
    """A wheel unpacked into a directory: its name, the files it wrote and what it left out."""

    wheel: WheelName
    filename: str
    files: tuple[str, ...]
    skipped: tuple[str, ...]


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, or None when it would land outside the target directory."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name or ":" in path.parts[0]:
        return None
    return path


def install_wheel(wheel: Path, target_dir: Path) -> InstalledWheel:
    """Unpack ``wheel`` into ``target_dir`` as ``pip install --target`` would, without scripts.

    The ``.data/purelib`` and ``.data/platlib`` trees go to the top, like the rest;
    ``.data/scripts`` (console scripts, with this machine's shebang), ``headers`` and
    ``data`` are left out: nothing in Lambda runs or reads them from a layer.

    Raises:
        BuildError: the file is not a wheel, or a member would land outside ``target_dir``.
    """
    from lambda_kit_dev.layer._errors import BuildError

    try:
        name = WheelName.parse(wheel.name)
    except ValueError as error:
        raise BuildError(str(error), path=str(wheel)) from None
    written: list[str] = []
    skipped: list[str] = []
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                member = _safe_member(info.filename)
                if member is None:
                    raise BuildError(
                        f"wheel {wheel.name!r} has a member outside its root: {info.filename!r}",
                        path=str(wheel),
                    )
                parts = member.parts
                if parts[0].endswith(".data") and len(parts) >= 2:
                    if parts[1] not in ("purelib", "platlib"):
                        if not info.is_dir():
                            skipped.append(info.filename)
                        continue
                    parts = parts[2:]
                if info.is_dir() or not parts:
                    continue
                destination = target_dir.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink)
                written.append("/".join(parts))
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as error:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression
        raise BuildError(f"cannot unpack wheel {wheel.name!r}: {error}", path=str(wheel)) from None
    return InstalledWheel(name, wheel.name, tuple(written), tuple(skipped))
