"""Bytecode for a read-only code directory, compiled by the runtime's own Python.

Lambda extracts a function's code and its layers into read-only directories
(``/var/task``, ``/opt``), so the interpreter cannot cache what it compiles: a
module without valid bytecode is compiled again at every cold start. Bytecode is
only valid when it comes from the same Python version (the magic number and the
``cpython-312`` tag in its name), and a timestamp-based ``.pyc`` only while the
source's mtime and size match what it recorded. Zip tools, and this builder, give
every file one fixed timestamp, so a timestamp ``.pyc`` never matches after
extraction. Hash-based ``.pyc`` (PEP 552) record a hash of the source instead:

* ``unchecked-hash``: the interpreter loads the ``.pyc`` without reading the
  source. Right for code that cannot change after the build (a layer, vendored
  requirements).
* ``checked-hash``: the interpreter reads and hashes the source at every import,
  and recompiles when it changed. Right where the source may be edited in place:
  the function's own code, which the Lambda console's editor can change.

Compiling runs in a child process of the target interpreter with a fixed hash seed
(the order of a set or frozenset constant depends on it) and a fixed ``co_filename``
(where Lambda will put the file), so the same sources give the same bytes.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from lambda_kit_dev.layer._target import Interpreter

UNCHECKED = "unchecked-hash"
CHECKED = "checked-hash"

# Runs in the target interpreter (-S: no site, nothing but the standard library). Reads
# {"root", "files": [[relative path, dfile, mode], ...]} from stdin; prints the magic number,
# the cache tag and the files that would not compile.
_COMPILE = r"""
import importlib.util, json, os, py_compile, sys
job = json.load(sys.stdin)
modes = {"unchecked-hash": py_compile.PycInvalidationMode.UNCHECKED_HASH,
         "checked-hash": py_compile.PycInvalidationMode.CHECKED_HASH}
failed = []
for relative, dfile, mode in job["files"]:
    source = os.path.join(job["root"], relative)
    try:
        py_compile.compile(source, cfile=importlib.util.cache_from_source(source), dfile=dfile,
                           doraise=True, invalidation_mode=modes[mode])
    except (py_compile.PyCompileError, UnicodeDecodeError, ValueError) as error:
        failed.append([relative, str(error).strip().splitlines()[-1]])
json.dump({"magic": importlib.util.MAGIC_NUMBER.hex(), "tag": sys.implementation.cache_tag,
           "failed": failed}, sys.stdout)
"""


@dataclass(frozen=True)
class Compiled:
    """What a compile run did: the target's magic number and cache tag, and the files it could not compile."""

    magic: bytes
    cache_tag: str
    failed: tuple[tuple[str, str], ...]


def compile_tree(
    interpreter: Interpreter,
    root: Path,
    files: Sequence[tuple[str, str, str]],
) -> Compiled:
    """Compile ``files`` under ``root`` with ``interpreter`` into ``__pycache__`` beside each source.

    Args:
        interpreter: The target Python.
        root: The directory the relative paths start from.
        files: ``(relative path, path recorded in the code object, mode)`` per source, in
            a fixed order; mode is :data:`UNCHECKED` or :data:`CHECKED`.

    Raises:
        BuildError: the interpreter failed as a whole (one file that does not compile,
            such as Python 2 code some wheels still ship, is only listed in ``failed``).
    """
    from lambda_kit_dev.layer._errors import BuildError

    job = json.dumps({"root": str(root), "files": [list(entry) for entry in files]})
    environment = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [interpreter.path, "-S", "-c", _COMPILE],
        input=job,
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if done.returncode != 0:
        raise BuildError(
            f"compiling bytecode with {interpreter.path} failed:\n{done.stderr.strip()[-2000:]}",
            command=[interpreter.path],
            returncode=done.returncode,
        )
    report = json.loads(done.stdout)
    return Compiled(
        bytes.fromhex(report["magic"]),
        report["tag"],
        tuple((relative, message) for relative, message in report["failed"]),
    )


@dataclass(frozen=True)
class PycHeader:
    """The 16-byte header of a ``.pyc`` file (PEP 552).

    ``kind`` is :data:`UNCHECKED`, :data:`CHECKED` or ``"timestamp"``; ``source_hash`` is
    set for the first two, ``mtime`` and ``source_size`` for the last.
    """

    magic: bytes
    kind: str
    source_hash: bytes | None = None
    mtime: int | None = None
    source_size: int | None = None


def read_pyc_header(data: bytes) -> PycHeader | None:
    """Parse the start of a ``.pyc`` file; None when it is not one (too short, bad flags).

    Example:
        >>> header = read_pyc_header(bytes.fromhex("cb0d0d0a") + b"\\x01\\0\\0\\0" + b"h" * 8)
        >>> header.kind, header.source_hash
        ('unchecked-hash', b'hhhhhhhh')
    """
    if len(data) < 16 or data[2:4] != b"\r\n":
        return None
    magic = data[:4]
    (flags,) = struct.unpack("<I", data[4:8])
    if flags == 0:
        mtime, size = struct.unpack("<II", data[8:16])
        return PycHeader(magic, "timestamp", mtime=mtime, source_size=size)
    if flags == 0b01:
        return PycHeader(magic, UNCHECKED, source_hash=data[8:16])
    if flags == 0b11:
        return PycHeader(magic, CHECKED, source_hash=data[8:16])
    return None
