"""Which modules of the code have bytecode the runtime's interpreter can use read-only.

Run by lambda-kit as a script under the function's interpreter (``python -I -S
bytecode_probe.py SPEC``, standard library only), because only that interpreter knows
its own cache tag, magic number and source hash. ``SPEC`` is JSON:
``{"roots": [...], "exempt": [...]}``: the ``sys.path`` entries of the code (task root,
layers), and the interpreter's own prefixes, never counted. It prints JSON: per
top-level package or module, how many source files and bytes, and how many of them
have each status:

* ``ok``: a hash-based ``.pyc`` for this interpreter that is valid (unchecked, or
  checked and matching the source), which a read-only directory keeps using;
* ``timestamp``: a timestamp-based ``.pyc``: it only validates while the source keeps
  the modification time it had when compiled, which a zip round trip does not keep
  (2-second resolution, local time, packagers' fixed times);
* ``stale``: a checked hash-based ``.pyc`` whose source has changed;
* ``other``: bytecode only for another Python (another tag or magic number);
* ``none``: no bytecode at all.
"""

from __future__ import annotations

import _imp  # CPython's own: source_hash takes the interpreter's magic number as key
import json
import os
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source

_RAW_MAGIC = int.from_bytes(MAGIC_NUMBER, "little")


def status(source: str) -> str:
    """The bytecode status of one source file (see the module docstring)."""
    cached = cache_from_source(source)
    try:
        with open(cached, "rb") as file:
            head = file.read(16)
    except OSError:
        head = b""
    if len(head) == 16 and head[:4] == MAGIC_NUMBER:
        flags = int.from_bytes(head[4:8], "little")
        if not flags & 0b1:
            return "timestamp"
        if not flags & 0b10:
            return "ok"
        with open(source, "rb") as file:
            return "ok" if _imp.source_hash(_RAW_MAGIC, file.read()) == head[8:16] else "stale"
    folder, name = os.path.split(cached)
    stem = name.split(".", 1)[0] + "."
    try:
        others = [entry for entry in os.listdir(folder) if entry.startswith(stem) and entry.endswith(".pyc")]
    except OSError:
        others = []
    return "other" if others or head else "none"


def scan(roots: list[str], exempt: list[str]) -> dict[str, dict[str, int]]:
    """Per top-level name: files, bytes and a count per status."""
    absolute = [os.path.abspath(root) for root in roots]
    skipped = tuple(os.path.join(os.path.abspath(prefix), "") for prefix in exempt)
    packages: dict[str, dict[str, int]] = {}
    for root in absolute:
        others = {other for other in absolute if other != root}
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = sorted(
                name
                for name in subdirectories
                if name != "__pycache__"
                and not name.endswith((".dist-info", ".egg-info"))
                and os.path.join(directory, name) not in others
                and not os.path.join(directory, name, "").startswith(skipped)
            )
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, root)
                top = relative.split(os.sep, 1)[0]
                top = top[:-3] if top.endswith(".py") else top
                entry = packages.setdefault(
                    top, {"files": 0, "bytes": 0, "ok": 0, "timestamp": 0, "stale": 0, "other": 0, "none": 0}
                )
                entry["files"] += 1
                try:
                    entry["bytes"] += os.path.getsize(path)
                    entry[status(path)] += 1
                except OSError:
                    entry["none"] += 1
    return packages


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    print(
        json.dumps(
            {"cache_tag": sys.implementation.cache_tag, "packages": scan(spec["roots"], spec["exempt"])}
        )
    )
