"""lambda-kit emulator bootstrap, loaded by the emulated function's interpreter.

The emulator puts this directory first on the child's ``PYTHONPATH`` so that Python
imports this file at start-up. It does two things.

Lambda's code directories are read-only, and the emulator runs the interpreter with
``-B`` so that nothing is written beside the code either. ``_LAMBDA_KIT_CODE_ROOTS``
names those directories (the task root and the layers, one per line): there, a
timestamp-based ``.pyc`` is never taken as valid, because a deployment package does
not keep the modification times it was compiled against (zip's 2-second resolution
and local time, packagers' fixed times), so Lambda would compile those modules at
every cold start. Hash-based ``.pyc`` (what ``lambda-kit layer`` writes) count as on
Lambda. The interpreter's own prefixes (a virtual environment inside the task root,
say) are left alone: they stand for the runtime's own, compiled, directories.

When ``_LAMBDA_KIT_GC_FD`` names a pipe, every garbage collection is written to it
(generation and duration), so that the report can say what the collector cost INIT.

When ``_LAMBDA_KIT_CALLS_FD`` names a pipe, every AWS
API call made through botocore is written to it as one ``service.Operation`` line,
counted through botocore's own event system (a ``before-call`` handler registered
on each session), so the user's code is never edited. botocore is not imported
here: the handler is attached when the user's code imports ``botocore.session``.

Standard library only, and as little of it as possible: this runs inside the INIT
being measured. A ``sitecustomize`` the interpreter would otherwise have loaded is
loaded afterwards, so the environment behaves as it would without the emulator,
and this directory is then taken off ``sys.path`` and ``PYTHONPATH`` again.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import PathFinder

_HERE = os.path.dirname(os.path.abspath(__file__))
_TARGET = "botocore.session"


def _counter(fd: int):  # type: ignore[no-untyped-def]
    def on_call(**kwargs):  # type: ignore[no-untyped-def]
        model = kwargs.get("model")
        service = getattr(getattr(model, "service_model", None), "service_name", "unknown")
        operation = getattr(model, "name", "Unknown")
        try:
            os.write(fd, f"{service}.{operation}\n".encode())
        except OSError:  # the emulator went away; counting must never break the call
            pass

    return on_call


def patch_session_class(module, fd: int) -> None:  # type: ignore[no-untyped-def]
    """Make every botocore Session created from now on report its API calls to ``fd``."""
    session_class = module.Session
    original_init = session_class.__init__
    on_call = _counter(fd)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        self.register("before-call", on_call, unique_id="lambda-kit-emulator-call-counter")

    session_class.__init__ = __init__


class _Loader:
    def __init__(self, loader, fd: int) -> None:  # type: ignore[no-untyped-def]
        self._loader = loader
        self._fd = fd

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:  # type: ignore[no-untyped-def]
        self._loader.exec_module(module)
        patch_session_class(module, self._fd)


class CallCountingFinder:
    """Meta-path finder that patches ``botocore.session`` as it is first imported."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != _TARGET:
            return None
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _Loader(spec.loader, self.fd)  # type: ignore[assignment]  # duck-typed Loader
        return spec


def install(fd: int) -> None:
    """Count AWS API calls into ``fd`` (patching now if botocore is already loaded)."""
    loaded = sys.modules.get(_TARGET)
    if loaded is not None:
        patch_session_class(loaded, fd)
    else:
        sys.meta_path.insert(0, CallCountingFinder(fd))


def install_gc_log(fd: int) -> None:
    """Write ``"<generation> <nanoseconds>"`` to ``fd`` after every garbage collection.

    The emulator reads the lines written before the runtime's first ``/next`` as
    INIT's collections, the rest per invocation. Costs one small write per
    collection (a few microseconds; tens of collections in a typical INIT).
    """
    import gc
    from time import perf_counter_ns

    began = [0]

    def on_gc(phase, info):  # type: ignore[no-untyped-def]
        if phase == "start":
            began[0] = perf_counter_ns()
            return
        try:
            os.write(fd, b"%d %d\n" % (info["generation"], perf_counter_ns() - began[0]))
        except OSError:  # the emulator went away: the collector must never fail for it
            pass

    gc.callbacks.append(on_gc)


def ignore_timestamp_bytecode(roots: tuple[str, ...]) -> None:
    """Make every timestamp-based ``.pyc`` of a source under ``roots`` stale.

    ``SourceLoader.get_code`` validates such a ``.pyc`` against ``path_stats()``: a
    size no file has (``-1``) never matches, so the source is compiled (and, under
    ``-B``, nothing is written). Hash-based ``.pyc`` do not use these figures.
    """
    from importlib.machinery import SourceFileLoader

    exempt = tuple(
        os.path.join(prefix, "")
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    )
    original = SourceFileLoader.path_stats

    def path_stats(self, path):  # type: ignore[no-untyped-def]
        stats = original(self, path)
        if path.startswith(roots) and not path.startswith(exempt):
            return {"mtime": stats["mtime"], "size": -1}
        return stats

    SourceFileLoader.path_stats = path_stats  # type: ignore[method-assign]


def _code_roots(text: str) -> tuple[str, ...]:
    """The directories named one per line, each also as its real path, ending in a separator."""
    roots: set[str] = set()
    for line in text.split("\n"):
        if line:
            roots.add(os.path.join(line, ""))
            roots.add(os.path.join(os.path.realpath(line), ""))
    return tuple(sorted(roots))


def _load_next_sitecustomize() -> None:
    others = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
    spec = PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    import importlib.util

    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def remove_own_directory() -> None:
    """Take this directory off ``sys.path`` and ``PYTHONPATH``: the function never sees it."""
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
    python_path = os.environ.get("PYTHONPATH")
    if python_path is not None:
        kept = [entry for entry in python_path.split(os.pathsep) if os.path.abspath(entry or ".") != _HERE]
        os.environ["PYTHONPATH"] = os.pathsep.join(kept)


if __name__ == "sitecustomize":  # imported by site at start-up, not by a test
    _roots = _code_roots(os.environ.pop("_LAMBDA_KIT_CODE_ROOTS", ""))
    if _roots:
        ignore_timestamp_bytecode(_roots)
    _gc_fd = os.environ.pop("_LAMBDA_KIT_GC_FD", "")
    if _gc_fd.isdigit():
        install_gc_log(int(_gc_fd))
    _fd = os.environ.pop("_LAMBDA_KIT_CALLS_FD", "")
    if _fd.isdigit():
        install(int(_fd))
    _snapstart = os.environ.pop("_LAMBDA_KIT_SNAPSTART", "")
    if _snapstart:  # SnapStart: see _lambda_kit_snapstart.py
        import _lambda_kit_snapstart  # type: ignore[import-not-found]  # this directory, on sys.path now

        _lambda_kit_snapstart.install(_snapstart, int(_fd) if _fd.isdigit() else None, _roots)
    _load_next_sitecustomize()
    remove_own_directory()
