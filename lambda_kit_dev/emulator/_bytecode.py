"""Does the function's code have bytecode its interpreter can use read-only? (internal)

Lambda's code directories (``/var/task``, ``/opt``) are read-only: a module without
valid bytecode for the runtime's Python is compiled again at every cold start, and
nothing is written. :func:`scan` asks the function's own interpreter (see
``_shim/bytecode_probe.py``) which modules of the task root and the layers lack such
bytecode: none, timestamp-based (stale once zipped), stale hash-based, or only for
another Python. :func:`compiled_copy` makes a temporary copy with hash-based
bytecode for that interpreter, so that ``lambda-kit bench`` can measure what the
missing bytecode costs at INIT, in interleaved cold starts.

Example:
    >>> result = scan(sys.executable, ["examples/tuned"])  # doctest: +SKIP
    >>> [(p.name, p.lacking) for p in result.packages]  # doctest: +SKIP
    [('app', 1), ('orders', 1), ('order_view_pb2', 1)]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from lambda_kit_dev.exceptions import EmulatorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["BytecodeScan", "PackageBytecode", "compiled_copy", "scan"]

_PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim", "bytecode_probe.py")
_STATUSES = ("ok", "timestamp", "stale", "other", "none")


@dataclass(frozen=True)
class PackageBytecode:
    """One top-level package (or module) of the code: its sources and their bytecode.

    ``lacking_bytes`` is the source size of the files without usable bytecode: what
    every cold start compiles.
    """

    name: str
    files: int
    source_bytes: int
    ok: int
    timestamp: int
    stale: int
    other: int
    none: int
    lacking_bytes: int

    @property
    def lacking(self) -> int:
        """Source files that every cold start compiles again."""
        return self.files - self.ok


@dataclass(frozen=True)
class BytecodeScan:
    """What :func:`scan` found, heaviest lacking package first."""

    cache_tag: str
    packages: tuple[PackageBytecode, ...]

    def lacking(self, imported: Iterable[str] | None = None) -> list[PackageBytecode]:
        """Packages with files lacking bytecode, heaviest first; only those in
        ``imported`` (top-level names) when given."""
        names = None if imported is None else set(imported)
        chosen = [p for p in self.packages if p.lacking and (names is None or p.name in names)]
        return sorted(chosen, key=lambda p: (-p.lacking_bytes, p.name))


def scan(python: str, roots: Sequence[str], *, exempt: Sequence[str] = ()) -> BytecodeScan:
    """Ask ``python`` which modules under ``roots`` lack bytecode it can use read-only.

    ``roots`` are ``sys.path`` entries (a task root, a layer's ``python/``); modules
    under ``exempt`` (the interpreter's own prefixes) are not counted.

    Raises:
        EmulatorError: The interpreter could not answer.
    """
    spec = json.dumps({"roots": [r for r in roots if os.path.isdir(r)], "exempt": list(exempt)})
    try:
        done = subprocess.run(
            [python, "-I", "-S", _PROBE, spec], capture_output=True, timeout=300, check=True
        )
        answer = json.loads(done.stdout)
        packages = []
        for name, counts in answer["packages"].items():
            lacking_share = 1 - counts["ok"] / counts["files"] if counts["files"] else 0.0
            packages.append(
                PackageBytecode(
                    name=str(name),
                    files=int(counts["files"]),
                    source_bytes=int(counts["bytes"]),
                    **{status: int(counts[status]) for status in _STATUSES},
                    lacking_bytes=round(int(counts["bytes"]) * lacking_share),
                )
            )
    except (OSError, subprocess.SubprocessError, ValueError, LookupError, TypeError) as error:
        raise EmulatorError(f"Could not scan the code's bytecode with {python!r}: {error}") from None
    return BytecodeScan(str(answer["cache_tag"]), tuple(sorted(packages, key=lambda p: p.name)))


def compiled_copy(python: str, sources: Sequence[str], into: str) -> list[str]:
    """Copy each directory of ``sources`` under ``into`` and compile it with ``python``
    (unchecked hash-based ``.pyc``: the fastest bytecode a read-only directory accepts).

    Returns:
        The copies, in the order of ``sources``.

    Raises:
        EmulatorError: Compiling failed.
    """
    import shutil

    copies: list[str] = []
    for index, source in enumerate(sources):
        copy = os.path.join(into, f"{index}-{os.path.basename(source.rstrip(os.sep)) or 'root'}")
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        copies.append(copy)
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", *copies]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode not in (0, 1):  # 1: some file did not compile (Lambda would fail on it too)
        raise EmulatorError(f"Could not compile a copy of the code: {done.stderr.strip()[-500:]}")
    return copies


def default_exempt(prefixes: Iterable[str] | None) -> list[str]:
    """The interpreter's own prefixes (``sys.prefix``...), or this one's."""
    if prefixes is not None:
        return list(prefixes)
    return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
