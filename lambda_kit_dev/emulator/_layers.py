"""Lambda layers laid out as Lambda lays them out, and the Python they were built for (internal).

Lambda extracts a function's layers, in order, into one read-only ``/opt``: a file of
a later layer replaces the same file of an earlier one. Python finds them through two
``sys.path`` entries after the task root, ``/opt/python/lib/python3.X/site-packages``
then ``/opt/python``; ``/opt/bin`` is on ``PATH`` and ``/opt/lib`` on
``LD_LIBRARY_PATH``. :class:`Layers` builds that ``/opt``: a single layer directory
is used where it is; a zip, or several layers, are extracted or linked into a
temporary directory, in order, removed by :meth:`Layers.close`.

A layer built for another Python or another machine fails deep inside an import
(pydantic-core's ``No module named 'pydantic_core._pydantic_core'``), so
:func:`inspect_layer` reads what the layer was built for from its files: the ABI tags
of compiled extensions (``.cpython-312-x86_64-linux-gnu.so``) and their ELF machine,
the tags in ``*.dist-info/WHEEL`` (``cp312-cp312-manylinux...``), and, when neither
says, the tags of the bytecode in ``__pycache__`` (``.cpython-312.pyc``).
:func:`check_layer` refuses a mismatch with both versions named.

Example:
    >>> target = inspect_layer("build/layer")  # doctest: +SKIP
    >>> target.versions, target.machines  # doctest: +SKIP
    ({(3, 12)}, {'x86_64'})
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import partial

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["LayerTarget", "Layers", "check_layer", "inspect_layer"]

_EXTENSION = re.compile(r"\.cpython-3(\d{1,2})[a-z]*(?:-([a-z0-9_]+)-[a-z0-9_]+(?:-[a-z0-9_]+)?)?\.so$")
_BYTECODE = re.compile(r"\.cpython-3(\d{1,2})(?:\.opt-\d+)?\.pyc$")
_WHEEL_TAG = re.compile(r"^Tag:\s*cp3(\d{1,2})-cp3\d{1,2}[a-z]*-(\S+)\s*$", re.MULTILINE)
_ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64", 0x03: "x86", 0x28: "arm"}
_MACHINE_NAMES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_EVIDENCE = 3  # files named per finding in an error


def machine_name(text: str) -> str:
    """Lambda's name for a machine: ``x86_64`` or ``arm64`` (others as given, lower case)."""
    lowered = text.lower()
    for known, name in _MACHINE_NAMES.items():
        if known in lowered:
            return name
    return lowered


@dataclass
class LayerTarget:
    """What a layer's files say it was built for.

    ``versions`` comes from compiled extensions and wheel tags, which fail on another
    Python; ``bytecode_versions`` from ``__pycache__``, which another Python ignores
    (and recompiles at every cold start). ``evidence`` names a few files per finding.
    """

    versions: set[tuple[int, int]] = field(default_factory=set)
    bytecode_versions: set[tuple[int, int]] = field(default_factory=set)
    machines: set[str] = field(default_factory=set)
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def note(self, finding: str, path: str) -> None:
        named = self.evidence.setdefault(finding, [])
        if len(named) < _EVIDENCE:
            named.append(path)


def _elf_machine(head: bytes) -> str | None:
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    number = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return _ELF_MACHINES.get(number)


def _files(source: str) -> Iterator[tuple[str, Callable[[int], bytes]]]:
    """``(path under python/, read(n))`` for each file of a layer directory or zip."""
    if os.path.isdir(source):
        top = os.path.join(source, "python")
        for directory, subdirectories, files in os.walk(top):
            subdirectories.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, top).replace(os.sep, "/"), partial(_read_file, path)
        return
    with zipfile.ZipFile(source) as archive:
        for member in sorted(archive.infolist(), key=lambda m: m.filename):
            if member.filename.startswith("python/") and not member.is_dir():
                yield member.filename[len("python/") :], partial(_read_member, archive, member)


def _read_file(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except OSError:
        return b""


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, size: int) -> bytes:
    try:
        with archive.open(member) as file:
            return file.read(size)
    except (OSError, zipfile.BadZipFile, RuntimeError):  # RuntimeError: encrypted
        return b""


def inspect_layer(source: str | os.PathLike[str]) -> LayerTarget:
    """Read what a layer (a zip, or a directory holding ``python/``) was built for."""
    target = LayerTarget()
    for shown, read in _files(os.fspath(source)):
        folder, _, name = shown.rpartition("/")
        if name.endswith(".so"):
            match = _EXTENSION.search(name)
            if match is not None:
                version = (3, int(match[1]))
                target.versions.add(version)
                target.note(f"3.{version[1]}", shown)
            machine = _elf_machine(read(20))
            if machine is not None:
                target.machines.add(machine)
                target.note(machine, shown)
        elif name.endswith(".pyc"):
            match = _BYTECODE.search(name)
            if match is not None:
                version = (3, int(match[1]))
                target.bytecode_versions.add(version)
                target.note(f"bytecode 3.{version[1]}", shown)
        elif name == "WHEEL" and folder.endswith(".dist-info"):
            text = read(65536).decode("utf-8", "replace")
            for match in _WHEEL_TAG.finditer(text):
                version = (3, int(match[1]))
                target.versions.add(version)
                target.note(f"3.{version[1]}", shown)
                if match[2] != "any":
                    machine = machine_name(match[2])
                    target.machines.add(machine)
                    target.note(machine, shown)
    return target


def check_layer(
    source: str, target: LayerTarget, version: tuple[int, int], machine: str, python: str
) -> None:
    """Refuse a layer built for another Python or machine than the one running it.

    Raises:
        ConfigurationError: Naming the layer, both versions (or machines) and the
            files that say so.
    """
    running = f"{version[0]}.{version[1]}"
    decisive = target.versions or target.bytecode_versions
    if decisive and version not in decisive:
        built = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(decisive))
        key = "" if target.versions else "bytecode "
        shown = [path for v in sorted(decisive) for path in target.evidence.get(f"{key}{v[0]}.{v[1]}", [])]
        what = "its compiled extensions and wheel tags" if target.versions else "its bytecode"
        raise ConfigurationError(
            f"Layer {source!r} is built for Python {built} ({what}: {', '.join(shown)}), but the "
            f"function runs Python {running} ({python}). Run it with python='{built.split(', ')[0]}' "
            f"(--python {built.split(', ')[0]}), or build the layer for {running} "
            f"(lambda-kit layer --python {running}).",
            setting="layers",
            layer=source,
            layer_python=built,
            python=running,
        )
    running_machine = machine_name(machine)
    if target.machines and running_machine not in target.machines:
        built = ", ".join(sorted(target.machines))
        shown = [path for m in sorted(target.machines) for path in target.evidence.get(m, [])]
        raise ConfigurationError(
            f"Layer {source!r} is built for {built} ({', '.join(shown)}), but this machine runs "
            f"{running_machine}: its compiled extensions cannot load here. Build it for "
            f"{running_machine} to run it locally (lambda-kit layer --arch {running_machine}).",
            setting="layers",
            layer=source,
            layer_machine=built,
            machine=running_machine,
        )


def _link_or_copy(source: str, destination: str) -> str:
    """Hard-link ``source`` (cheap, same times) or copy it; replace what a layer before left."""
    if os.path.lexists(destination):
        os.unlink(destination)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


def _extract(archive: zipfile.ZipFile, into: str) -> None:
    for member in archive.infolist():
        # ZipFile.extract drops absolute paths and '..' components: nothing lands outside.
        path = archive.extract(member, into)
        mode = (member.external_attr >> 16) & 0o777
        if mode and not member.is_dir():
            os.chmod(path, mode | 0o400)


class Layers:
    """The ``/opt`` of a function with ``sources`` (zips or directories), in order.

    Raises:
        ConfigurationError: A source is neither a zip nor a directory, or a directory
            does not look like a layer (no ``python/``, ``bin/`` or ``lib/``).
    """

    def __init__(self, sources: Sequence[str | os.PathLike[str]]) -> None:
        self.sources = tuple(os.path.abspath(os.fspath(source)) for source in sources)
        self._temporary: str | None = None
        self.root: str | None = None
        for source in self.sources:
            _check_source(source)
        if not self.sources:
            return
        if len(self.sources) == 1 and os.path.isdir(self.sources[0]):
            self.root = self.sources[0]
            return
        self._temporary = self.root = tempfile.mkdtemp(prefix="lambda-kit-opt-")
        try:
            for source in self.sources:
                if os.path.isdir(source):
                    shutil.copytree(source, self.root, copy_function=_link_or_copy, dirs_exist_ok=True)
                else:
                    with zipfile.ZipFile(source) as archive:
                        _extract(archive, self.root)
        except (OSError, zipfile.BadZipFile) as error:
            self.close()
            raise ConfigurationError(
                f"Could not lay out the layers {list(self.sources)}: {error}",
                setting="layers",
            ) from None

    def python_path(self, version: tuple[int, int]) -> list[str]:
        """The ``sys.path`` entries of the layers, as Lambda orders them."""
        if self.root is None:
            return []
        python = os.path.join(self.root, "python")
        site = os.path.join(python, "lib", f"python{version[0]}.{version[1]}", "site-packages")
        return [site, python]

    def directory(self, name: str) -> str | None:
        """``/opt/bin`` or ``/opt/lib`` of the layout, if a layer has one."""
        if self.root is None:
            return None
        path = os.path.join(self.root, name)
        return path if os.path.isdir(path) else None

    def close(self) -> None:
        """Remove the temporary layout, if one was made."""
        temporary, self._temporary = self._temporary, None
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _check_source(source: str) -> None:
    if os.path.isdir(source):
        if any(os.path.isdir(os.path.join(source, name)) for name in ("python", "bin", "lib")):
            return
        raise ConfigurationError(
            f"Layer directory {source!r} holds no python/, bin/ or lib/ directory; pass the "
            "layer's root (what its zip holds: python/ with the packages inside), not python/ itself.",
            setting="layers",
            value=source,
        )
    if os.path.isfile(source) and zipfile.is_zipfile(source):
        return
    raise ConfigurationError(
        f"Layer {source!r} is neither a directory nor a zip file.", setting="layers", value=source
    )
