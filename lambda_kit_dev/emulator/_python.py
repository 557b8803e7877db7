"""Which interpreter runs the emulated function: a version, a path, or this one (internal).

* ``None``: this interpreter, with whatever it has installed (the default; it needs
  ``awslambdaric``).
* A version, ``"3.12"`` or ``"python3.12"`` (a SAM template's ``Runtime``): Lambda's
  python3.12 runtime as a clean environment that holds only what that runtime
  preinstalls, the runtime interface client (``awslambdaric``) and the SDK
  (``boto3``). The function's own packages come from its task root and layers, as on
  Lambda. lambda-kit prepares one such environment per base interpreter the first
  time it is asked for (a virtual environment under ``~/.cache/lambda-kit/runtimes``,
  about 20 s and a download from the package index; ``LAMBDA_KIT_RUNTIME_CACHE``
  moves it) and reuses it after that. The base interpreter is the newest
  ``$PYENV_ROOT/versions/3.12.*`` (pyenv), else ``python3.12`` on ``PATH``.
* A path: that interpreter as it is. It needs ``awslambdaric``; when it lacks it,
  the error says how to install it.

Example:
    >>> parse_version("python3.12")
    (3, 12)
    >>> parse_version("/usr/bin/python3") is None
    True
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.exceptions import EmulatorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Interpreter", "parse_version", "probe", "resolve", "runtime_environment"]

_VERSION = re.compile(r"(?:python)?(3)\.(\d{1,2})")
# What the runtime environment installs: Lambda's runtime client, and the SDK every
# Python runtime preinstalls (with botocore, urllib3, s3transfer and jmespath).
RUNTIME_PACKAGES = ("awslambdaric", "boto3")
_PROBE = """import importlib.util, json, platform, sys
print(json.dumps({
    "executable": sys.executable,
    "version": list(sys.version_info[:2]),
    "release": platform.python_version(),
    "cache_tag": sys.implementation.cache_tag,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "prefixes": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}),
    "machine": platform.machine(),
    "runtime_client": importlib.util.find_spec("awslambdaric") is not None,
}))
"""


@dataclass(frozen=True)
class Interpreter:
    """What the emulator needs to know of an interpreter, asked once (see :func:`probe`)."""

    executable: str
    version: tuple[int, int]
    release: str
    cache_tag: str
    magic: str
    prefixes: tuple[str, ...]
    machine: str
    runtime_client: bool

    @property
    def version_text(self) -> str:
        """``"3.12"``."""
        return f"{self.version[0]}.{self.version[1]}"


def parse_version(text: str) -> tuple[int, int] | None:
    """``(3, 12)`` for ``"3.12"`` or ``"python3.12"``; None for anything else (a path)."""
    match = _VERSION.fullmatch(text.strip())
    return None if match is None else (int(match[1]), int(match[2]))


_PROBED: dict[str, Interpreter | None] = {}
_PROBED_LOCK = threading.Lock()


def probe(executable: str) -> Interpreter | None:
    """Ask ``executable`` what it is (once per process); None if it cannot answer."""
    with _PROBED_LOCK:
        if executable in _PROBED:
            return _PROBED[executable]
    found: Interpreter | None = None
    try:
        answer = subprocess.run(
            [executable, "-c", _PROBE],
            capture_output=True,
            timeout=60,
            check=True,
            env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME")},
        ).stdout
        facts = json.loads(answer)
        found = Interpreter(
            executable=str(facts["executable"]),
            version=(int(facts["version"][0]), int(facts["version"][1])),
            release=str(facts["release"]),
            cache_tag=str(facts["cache_tag"]),
            magic=str(facts["magic"]),
            prefixes=tuple(str(p) for p in facts["prefixes"]),
            machine=str(facts["machine"]),
            runtime_client=bool(facts["runtime_client"]),
        )
    except (OSError, subprocess.SubprocessError, ValueError, LookupError, TypeError):
        found = None
    with _PROBED_LOCK:
        _PROBED[executable] = found
    return found


def forget(executable: str) -> None:
    """Drop what :func:`probe` remembers of ``executable`` (it was just changed)."""
    with _PROBED_LOCK:
        _PROBED.pop(executable, None)


def _pyenv_candidates(version: tuple[int, int]) -> list[str]:
    root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions = os.path.join(root, "versions")
    try:
        names = os.listdir(versions)
    except OSError:
        return []
    prefix = f"{version[0]}.{version[1]}."
    releases: list[tuple[int, str]] = []
    for name in names:
        rest = name[len(prefix) :]
        if name.startswith(prefix) and rest.isdigit():  # 3.12.1, not 3.12-dev or 3.12.1t
            releases.append((int(rest), name))
    return [
        os.path.join(versions, name, "bin", f"python{version[0]}.{version[1]}")
        for _, name in sorted(releases, reverse=True)
    ]


def find_interpreter(version: tuple[int, int]) -> Interpreter:
    """A base interpreter of ``version``: pyenv's newest release, else ``pythonX.Y`` on PATH.

    Raises:
        ConfigurationError: None was found (the message says where it looked).
    """
    import shutil

    candidates = _pyenv_candidates(version)
    on_path = shutil.which(f"python{version[0]}.{version[1]}")
    if on_path is not None:
        candidates.append(on_path)  # a pyenv shim answers with the real executable
    for candidate in candidates:
        found = probe(candidate)
        if found is not None and found.version == version:
            return found
    text = f"{version[0]}.{version[1]}"
    raise ConfigurationError(
        f"No Python {text} interpreter found (looked in $PYENV_ROOT/versions/{text}.* and for "
        f"python{text} on PATH). Install it (pyenv install {text}) or pass the path of one as "
        "python (--python /path/to/python).",
        setting="python",
        value=text,
    )


def cache_directory(cache_dir: str | os.PathLike[str] | None = None) -> str:
    """Where runtime environments live: the argument, ``LAMBDA_KIT_RUNTIME_CACHE``, or
    ``$XDG_CACHE_HOME/lambda-kit/runtimes`` (``~/.cache/lambda-kit/runtimes``)."""
    if cache_dir is not None:
        return os.path.abspath(os.fspath(cache_dir))
    configured = os.environ.get("LAMBDA_KIT_RUNTIME_CACHE")
    if configured:
        return os.path.abspath(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lambda-kit", "runtimes")


def _pins() -> list[str]:
    """The runtime packages, pinned to the versions this interpreter has where it has them,
    so that every interpreter runs the same runtime client."""
    from importlib import metadata

    pins: list[str] = []
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def runtime_environment(
    version: tuple[int, int],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Interpreter:
    """Lambda's python runtime of ``version`` as a cached virtual environment (see the module).

    Created on first use (``log`` hears about it), under a lock, so that processes
    asking at once build it once; reused after that.

    Raises:
        ConfigurationError: No base interpreter of ``version`` was found.
        EmulatorError: The environment could not be created (no access to the
            package index, say); the message carries pip's last lines.
    """
    import fcntl
    import hashlib

    base = find_interpreter(version)
    pins = _pins()
    key = hashlib.sha256(json.dumps([base.executable, base.release, pins]).encode()).hexdigest()[:10]
    name = f"python{version[0]}.{version[1]}-{key}"
    cache = cache_directory(cache_dir)
    home = os.path.join(cache, name)
    python = os.path.join(home, "bin", "python")
    marker = os.path.join(home, "lambda-kit-runtime.json")
    if os.path.exists(marker):
        found = probe(python)
        if found is not None and found.runtime_client:
            return found
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        forget(python)
        if not os.path.exists(marker):
            if log is not None:
                log(
                    f"Preparing the Python {version[0]}.{version[1]} runtime environment "
                    f"({', '.join(pins)}) in {home}; this happens once."
                )
            _create(base.executable, home, pins)
            with open(marker, "w", encoding="utf-8") as file:
                json.dump({"base": base.executable, "release": base.release, "packages": pins}, file)
            forget(python)
    found = probe(python)
    if found is None or not found.runtime_client:
        raise EmulatorError(
            f"The runtime environment {home} does not work (awslambdaric cannot be imported); "
            "delete that directory to have it prepared again.",
            python=python,
        )
    return found


def _create(base: str, home: str, pins: list[str]) -> None:
    import shutil

    shutil.rmtree(home, ignore_errors=True)  # what a broken earlier attempt left
    python = os.path.join(home, "bin", "python")
    steps = (
        [base, "-m", "venv", home],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            shutil.rmtree(home, ignore_errors=True)
            raise EmulatorError(f"Could not prepare the runtime environment {home}: {error}") from None
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise EmulatorError(
                f"Could not prepare the runtime environment {home}: {' '.join(step[2:4])} failed "
                f"(exit status {done.returncode}):\n{tail}\nThe package index must be reachable; "
                "or install awslambdaric into an interpreter yourself and pass its path as python.",
                python=base,
            )


def resolve(
    python: str | os.PathLike[str] | None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[str, Interpreter | None]:
    """The executable for ``python`` (see the module), and what it is if it could say.

    Raises:
        ConfigurationError: A version with no interpreter found.
        EmulatorError: awslambdaric is missing from this interpreter or from the one
            at the path given (the message says how to install it), or a runtime
            environment could not be prepared.
    """
    if python is None:
        import importlib.util

        if importlib.util.find_spec("awslambdaric") is None:
            raise EmulatorError(
                "The emulator runs handlers under awslambdaric, which is not installed; "
                "install it with pip install awslambdaric (it is in lambda-kit's tools extra), "
                "or pass a Python version (--python 3.12) to use a runtime environment "
                "lambda-kit prepares.",
            )
        return sys.executable, None
    text = os.fspath(python)
    version = parse_version(text)
    if version is not None:
        prepared = runtime_environment(version, cache_dir=cache_dir, log=log)
        return prepared.executable, prepared
    # A path, used as it is. One that cannot answer fails when the runtime starts,
    # with the reason (a missing file, say).
    found = probe(text)
    if found is not None and not found.runtime_client:
        raise EmulatorError(
            f"awslambdaric is not installed for {text} (Python {found.version_text}); install it "
            f"with {text} -m pip install awslambdaric, or pass python='{found.version_text}' "
            f"(--python {found.version_text}) to use a runtime environment lambda-kit prepares.",
            python=text,
        )
    return text, found
