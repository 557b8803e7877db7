"""Deterministic archives, Lambda's size limits and the machine type of native code.

The same files give the same zip, byte for byte: entries sorted by name, each
directory listed before its contents, one timestamp (1980-01-01, the earliest a zip
can hold), Unix permissions fixed by kind (0755 for directories and shared objects,
0644 for the rest), no extra fields, the same compression level. Then a sha256
says whether two builds differ, and a deploy tool that compares hashes uploads
only what changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

# ELF e_machine values (System V ABI): what a shared object was compiled for.
ELF_MACHINES = {62: "x86_64", 183: "aarch64", 3: "i386", 40: "arm"}


@dataclass(frozen=True)
class Limits:
    """Lambda's deployment package quotas, in bytes (AWS Lambda developer guide, "Lambda quotas").

    ``unzipped``: the function's code and all its layers, extracted (250 MB; Lambda
    refuses more with "Unzipped size must be smaller than 262144000 bytes").
    ``zipped``: a .zip uploaded directly through the Lambda API (50 MB); larger ones
    must go through S3, which SAM and CloudFormation do anyway.
    """

    unzipped: int = 250 * 1024 * 1024
    zipped: int = 50 * 1024 * 1024


LAMBDA_LIMITS = Limits()


@dataclass(frozen=True)
class LimitProblem:
    """A size over one of Lambda's limits: ``fatal`` when Lambda refuses it in every way."""

    limit: str
    size: int
    maximum: int
    fatal: bool
    message: str


def megabytes(size: int) -> str:
    """``size`` in the MB (MiB) that Lambda's quotas use, e.g. ``12.3 MB``."""
    return f"{size / (1024 * 1024):.1f} MB"


def check_limits(
    unzipped: int, zipped: int | None = None, *, limits: Limits = LAMBDA_LIMITS
) -> list[LimitProblem]:
    """The limits broken by ``unzipped`` bytes of code (function and layers) and a ``zipped`` archive.

    Example:
        >>> [p.limit for p in check_limits(300 * 1024 * 1024, 60 * 1024 * 1024)]
        ['unzipped', 'zipped']
        >>> check_limits(1_000, 500)
        []
    """
    problems: list[LimitProblem] = []
    if unzipped > limits.unzipped:
        problems.append(
            LimitProblem(
                "unzipped",
                unzipped,
                limits.unzipped,
                True,
                f"{megabytes(unzipped)} unzipped is over Lambda's {megabytes(limits.unzipped)} for a "
                "function and its layers together; Lambda refuses the deployment",
            )
        )
    if zipped is not None and zipped > limits.zipped:
        problems.append(
            LimitProblem(
                "zipped",
                zipped,
                limits.zipped,
                False,
                f"{megabytes(zipped)} zipped is over the {megabytes(limits.zipped)} a direct upload "
                "may have; upload it through S3 (sam deploy and CloudFormation do)",
            )
        )
    return problems


def unzipped_size(path: Path) -> int:
    """The extracted size of a .zip (the sum of its members) or of a directory tree.

    Raises:
        BuildError: ``path`` is neither a readable zip nor a directory.
    """
    from lambda_kit_dev.layer._errors import BuildError

    if path.is_dir():
        return sum(
            file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink()
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise BuildError(
            f"cannot read {str(path)!r} as a zip or a directory: {error}", path=str(path)
        ) from None


def file_mode(name: str) -> int:
    """The permission bits a file gets in the output: 0755 for shared objects, 0644 otherwise."""
    return 0o755 if name.endswith(".so") or ".so." in PurePosixPath(name).name else 0o644


def directories(names: Iterable[str]) -> set[str]:
    """Every parent directory of ``names`` (POSIX relative paths), each ending in ``/``."""
    found: set[str] = set()
    for name in names:
        for parent in PurePosixPath(name).parents:
            if parent.parts:
                found.add(f"{parent.as_posix()}/")
    return found


def write_zip(files: Sequence[tuple[str, Path]], out: Path) -> None:
    """Write ``(name in the archive, file)`` pairs to ``out`` deterministically (atomically replaced)."""
    entries = sorted(dict(files).items())
    names = sorted(directories(name for name, _ in entries) | {name for name, _ in entries})
    sources = dict(entries)
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:  # zlib's default level
        for name in names:
            info = zipfile.ZipInfo(name, ZIP_TIMESTAMP)
            info.create_system = 3  # Unix, so that the permission bits count
            if name.endswith("/"):
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10  # 0x10: MS-DOS directory flag
                archive.writestr(info, b"")
                continue
            info.external_attr = (stat.S_IFREG | file_mode(name)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            source = sources[name]
            info.file_size = source.stat().st_size
            with open(source, "rb") as reader, archive.open(info, "w") as writer:
                shutil.copyfileobj(reader, writer, 1024 * 1024)
    os.replace(partial, out)


def write_tree(files: Sequence[tuple[str, Path]], out: Path) -> None:
    """Copy ``(relative name, file)`` pairs into the new or empty directory ``out``, permissions fixed."""
    for name, source in sorted(files):
        destination = out.joinpath(*PurePosixPath(name).parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        os.chmod(destination, file_mode(name))


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def elf_machine(head: bytes) -> str | None:
    """The machine an ELF file was built for (``x86_64``, ``aarch64``, ...) from its first 20 bytes.

    None when ``head`` is not the start of an ELF file. An unknown machine number
    comes back as ``"machine <n>"``.

    Example:
        >>> elf_machine(b"\\x7fELF\\x02\\x01\\x01" + bytes(9) + b"\\x03\\x00\\xb7\\x00")
        'aarch64'
    """
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[5] not in (1, 2):
        return None
    number = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return ELF_MACHINES.get(number, f"machine {number}")
