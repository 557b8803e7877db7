"""The build itself: stage, unpack wheels, prune, compile, check, write (internal)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.layer._archive import (
    LAMBDA_LIMITS,
    LimitProblem,
    Limits,
    check_limits,
    elf_machine,
    megabytes,
    sha256_file,
    unzipped_size,
    write_tree,
    write_zip,
)
from lambda_kit_dev.layer._bytecode import CHECKED, UNCHECKED, compile_tree
from lambda_kit_dev.layer._errors import BuildError
from lambda_kit_dev.layer._project import find_project, requirement_name
from lambda_kit_dev.layer._target import Interpreter, Target, candidates, find_interpreter
from lambda_kit_dev.layer._wheels import (
    RUNTIME_PACKAGES,
    InstalledWheel,
    WheelName,
    download_wheels,
    install_wheel,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from lambda_kit_dev.layer._project import Project

LAYER_DIR = "python"  # Lambda puts /opt/python on sys.path
LAYER_MOUNT = "/opt/python"
TASK_ROOT = "/var/task"
# Top-level entries never shipped: console scripts (with this machine's shebang), test
# suites that careless wheels install as top-level packages, and the development tools.
PRUNED_TOP_LEVEL = frozenset({"bin", "tests", "test", "lambda_kit_dev"})
# Directories inside third-party packages that nothing imports at run time.
PRUNED_NESTED = frozenset({"tests", "test"})
# The unrelated project that owns the index name "lambda-kit" (same import name, lambda_kit).
FOREIGN_LAMBDA_KIT = "lambda-kit"
INSTALL_NAME = "lambda-perf-kit"

_EXTENSION = re.compile(r"\.cpython-(?P<version>\d+)-(?P<machine>[A-Za-z0-9_]+)-linux-gnu\.so$")


def wheel_fits(wheel: WheelName, target: Target) -> str | None:
    """Why ``wheel`` cannot run on ``target``, or None when it can."""
    if "any" not in wheel.platforms and not set(wheel.platforms) & set(target.platform_tags):
        return f"its platform is {'.'.join(wheel.platforms)}, not one of {target.runtime} {target.arch}'s"
    minor = int(target.python.split(".")[1])
    if target.abi in wheel.abis and target.abi in wheel.pythons:
        return None
    if "abi3" in wheel.abis and any(
        re.fullmatch(r"cp3(\d+)", tag) and int(tag[3:]) <= minor for tag in wheel.pythons
    ):
        return None
    if "none" in wheel.abis and {"py3", f"py3{minor}", target.abi} & set(wheel.pythons):
        return None
    return f"it is for {'.'.join(wheel.pythons)}-{'.'.join(wheel.abis)}, not CPython {target.python}"


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote and what it found.

    Attributes:
        kind: ``"layer"`` or ``"bundle"``.
        out: The .zip file or the directory written.
        target: The runtime it is for.
        interpreter: The interpreter that compiled the bytecode; None when there is none.
        bytecode: How the modules are compiled, in words.
        files: How many files it holds.
        unzipped: Their total size in bytes.
        zipped: The size of the .zip (None for a directory).
        sha256: The hex sha256 of the .zip (None for a directory).
        contents: ``(top-level name, bytes, files, wheel file or "")``, the biggest first.
        wheels: The wheel files unpacked into it.
        left_out: What was left out, and why, one line each.
        warnings: What may not work as expected.
        problems: Lambda size limits the output (with ``with_layers``) breaks.
        combined_unzipped: The output's and the given layers' extracted size together
            (0 when no layer was given).
        limits: The limits it was checked against.
    """

    kind: str
    out: Path
    target: Target
    interpreter: Interpreter | None
    bytecode: str
    files: int
    unzipped: int
    zipped: int | None
    sha256: str | None
    contents: tuple[tuple[str, int, int, str], ...]
    wheels: tuple[str, ...]
    left_out: tuple[str, ...]
    warnings: tuple[str, ...]
    problems: tuple[LimitProblem, ...]
    combined_unzipped: int = 0
    limits: Limits = LAMBDA_LIMITS

    @property
    def ok(self) -> bool:
        """False when Lambda would refuse the output (over the unzipped limit)."""
        return not any(problem.fatal for problem in self.problems)

    def summary(self, top: int = 12) -> str:
        """A human-readable report: sizes, bytecode, the biggest entries, what was left out, the limits."""
        lines = [f"lambda-kit {self.kind}: {self.out} ({self.target.runtime}, {self.target.arch})"]
        size = f"  {self.files:,} files, {_size(self.unzipped)} unzipped"
        if self.zipped is not None:
            size += f", {_size(self.zipped)} zipped, sha256 {self.sha256}"
        lines += [size, f"  bytecode: {self.bytecode}", "  contents (unzipped):"]
        for name, size_bytes, count, origin in self.contents[:top]:
            lines.append(f"    {_size(size_bytes):>9}  {name:<32} {count:>5} files  {origin}".rstrip())
        rest = self.contents[top:]
        if rest:
            lines.append(f"    {_size(sum(entry[1] for entry in rest)):>9}  ({len(rest)} more entries)")
        if self.left_out:
            lines.append("  left out:")
            lines += [f"    {line}" for line in self.left_out]
        combined = max(self.combined_unzipped, self.unzipped)
        limits = f"  limits: {megabytes(combined)} of {megabytes(self.limits.unzipped)} unzipped"
        limits += " (this output and the layers given)" if self.combined_unzipped else " (this output alone)"
        if self.zipped is not None:
            limits += (
                f"; {megabytes(self.zipped)} of {megabytes(self.limits.zipped)} zipped for a direct upload"
            )
        lines.append(limits)
        lines += [
            f"  {'error' if problem.fatal else 'warning'}: {problem.message}" for problem in self.problems
        ]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "kind": self.kind,
            "out": str(self.out),
            "runtime": self.target.runtime,
            "arch": self.target.arch,
            "interpreter": None if self.interpreter is None else self.interpreter.path,
            "python": None if self.interpreter is None else self.interpreter.version,
            "bytecode": self.bytecode,
            "files": self.files,
            "unzipped_bytes": self.unzipped,
            "zipped_bytes": self.zipped,
            "combined_unzipped_bytes": max(self.combined_unzipped, self.unzipped),
            "sha256": self.sha256,
            "contents": [
                {"name": name, "bytes": size, "files": count, "wheel": origin or None}
                for name, size, count, origin in self.contents
            ],
            "wheels": list(self.wheels),
            "left_out": list(self.left_out),
            "warnings": list(self.warnings),
            "problems": [
                {
                    "limit": p.limit,
                    "bytes": p.size,
                    "maximum": p.maximum,
                    "fatal": p.fatal,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "ok": self.ok,
        }


def _size(size: int) -> str:
    """``size`` in kB below one MB, else in MB (MiB, as Lambda's quotas count)."""
    return f"{size / 1024:.1f} kB" if size < 1024 * 1024 else megabytes(size)


def _skipped_source(path: Path) -> bool:
    """Never copied from a source tree: bytecode caches, compiled files, hidden entries."""
    name = path.name
    return name == "__pycache__" or name.endswith((".pyc", ".pyo")) or name.startswith(".")


@dataclass
class _Builder:
    """One build's staging directory and what it learns on the way."""

    target: Target
    root: Path
    scratch: Path
    own: set[str] = field(default_factory=set)  # files copied from the source tree (not wheels)
    wheels: list[InstalledWheel] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def copy(
        self, source: Path, prefix: str, *, skip: Iterable[Path] = (), top_level_prune: bool = False
    ) -> None:
        """Copy the tree ``source`` to ``prefix`` in the stage, without caches and hidden entries."""
        skipped = {path.resolve() for path in skip}
        pruned: list[str] = []
        caches = 0
        for directory, subdirectories, filenames in os.walk(source):
            here = Path(directory)
            keep = []
            for name in sorted(subdirectories):
                path = here / name
                caches += name == "__pycache__"
                if _skipped_source(path) or path.resolve() in skipped:
                    continue
                if top_level_prune and here == source and name in PRUNED_TOP_LEVEL:
                    pruned.append(f"{name}/")
                    continue
                keep.append(name)
            subdirectories[:] = keep
            for name in sorted(filenames):
                path = here / name
                if _skipped_source(path) or path.resolve() in skipped or not path.is_file():
                    continue
                relative = (
                    (PurePosixPath(prefix) / path.relative_to(source).as_posix()).as_posix().lstrip("/")
                )
                destination = self.root / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
                self.own.add(relative)
        if pruned:
            self.left_out.append(f"{', '.join(pruned)}: tests and scripts of the source tree")
        if caches:
            self.left_out.append(
                f"{caches} __pycache__ directories of {source.name}/ (this machine's bytecode, compiled anew)"
            )

    def add_dist_info(self, project: Project) -> None:
        """Metadata for the vendored package, so importlib.metadata.version() answers inside Lambda."""
        if project.name is None or project.version is None:
            return
        folder = self.root / f"{re.sub(r'[-_.]+', '_', project.name)}-{project.version}.dist-info"
        folder.mkdir(parents=True)
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {project.name}\nVersion: {project.version}\n", encoding="utf-8"
        )
        (folder / "INSTALLER").write_text("lambda-kit layer\n", encoding="utf-8")
        (folder / "top_level.txt").write_text("lambda_kit\n", encoding="utf-8")

    def install(
        self,
        requirements: Sequence[str],
        requirement_files: Sequence[Path],
        wheels: Sequence[Path] | None,
        interpreter: Interpreter | None,
        pip_options: Sequence[str],
        include_runtime_packages: bool,
    ) -> None:
        """Fetch (unless ``wheels`` are given) and unpack the wheels, leaving out the runtime's packages."""
        if wheels is None:
            if (requirements or requirement_files) and interpreter is None:
                here = "{}.{}".format(*sys.version_info[:2])
                if here != self.target.python:
                    self.warnings.append(
                        f"pip evaluated environment markers for this Python ({here}), "
                        f"not {self.target.python}: "
                        "with no target interpreter, a dependency that only some Python versions need "
                        "may be missing or extra"
                    )
            wheels = download_wheels(
                requirements,
                self.scratch / "wheels",
                self.target,
                interpreter=interpreter,
                requirement_files=requirement_files,
                pip_options=pip_options,
            )
        runtime: list[str] = []
        for wheel in sorted(wheels, key=lambda path: path.name):
            try:
                name = WheelName.parse(wheel.name)
            except ValueError as error:
                raise BuildError(str(error), path=str(wheel)) from None
            if name.distribution == FOREIGN_LAMBDA_KIT:
                raise BuildError(
                    f"{wheel.name} is the unrelated 'lambda-kit' project from the package index, not "
                    f"lambda-kit for fast Lambda handlers (distributed as {INSTALL_NAME!r}); remove "
                    "'lambda-kit' from the requirements and vendor lambda_kit with 'lambda-kit layer'",
                    path=str(wheel),
                )
            unfit = wheel_fits(name, self.target)
            if unfit is not None:
                raise BuildError(
                    f"wheel {wheel.name} cannot run on {self.target.runtime} {self.target.arch}: {unfit}"
                )
            if name.distribution in RUNTIME_PACKAGES and not include_runtime_packages:
                runtime.append(f"{name.distribution} {name.version}")
                continue
            installed = install_wheel(wheel, self.root)
            self.wheels.append(installed)
            if installed.skipped:
                self.left_out.append(
                    f"{wheel.name}: {len(installed.skipped)} scripts/headers/data files (.data/)"
                )
        if runtime:
            self.left_out.append(
                f"{', '.join(runtime)}: the Lambda runtime has them "
                "(--include-runtime-packages, include_runtime_packages=True, ships them)"
            )

    def prune(self) -> None:
        """Remove bytecode of any Python, and the top-level and nested entries never shipped."""
        caches = sorted(self.root.rglob("__pycache__"))
        for path in caches:
            shutil.rmtree(path, ignore_errors=True)
        stale = [path for path in self.root.rglob("*") if path.suffix in (".pyc", ".pyo") and path.is_file()]
        for path in stale:
            path.unlink()
        if caches or stale:
            self.left_out.append(f"{len(caches)} __pycache__ directories, {len(stale)} loose .pyc: replaced")
        removed: list[str] = []
        for entry in sorted(self.root.iterdir()):
            if entry.name in PRUNED_TOP_LEVEL and entry.is_dir() and not self._own(entry):
                removed.append(f"{entry.name}/")
                shutil.rmtree(entry)
        nested = [
            path
            for path in sorted(self.root.rglob("*"))
            if path.is_dir()
            and path.name in PRUNED_NESTED
            and path.parent != self.root
            and not self._own(path)
        ]
        nested = [path for path in nested if not any(other in path.parents for other in nested)]
        for path in nested:
            removed.append(f"{path.relative_to(self.root).as_posix()}/")
            shutil.rmtree(path)
        if removed:
            self.left_out.append(f"{', '.join(removed)}: scripts, tests and development tools")

    def _own(self, path: Path) -> bool:
        relative = path.relative_to(self.root).as_posix()
        return relative in self.own or any(name.startswith(relative + "/") for name in self.own)

    def check_native(self) -> None:
        """Warn about shared objects for another machine or Python: importing them fails in Lambda."""
        for path in sorted(self.root.rglob("*.so*")):
            if not path.is_file():
                continue
            relative = path.relative_to(self.root).as_posix()
            with open(path, "rb") as file:
                machine = elf_machine(file.read(20))
            if machine is not None and machine != self.target.machine:
                self.warnings.append(
                    f"{relative} is {machine} code; {self.target.arch} Lambda cannot load it"
                )
            suffix = _EXTENSION.search(path.name)
            if suffix is not None and (
                suffix["version"] != self.target.abi[2:] or suffix["machine"] != self.target.machine
            ):
                self.warnings.append(
                    f"{relative} is an extension for another Python or machine; "
                    f"{self.target.runtime} imports only *{self.target.extension_suffix} or *.abi3.so"
                )

    def compile(self, interpreter: Interpreter | None, mount: str, *, checked_own: bool) -> str:
        """Compile every module with the target interpreter; returns how, in words."""
        sources = sorted(path.relative_to(self.root).as_posix() for path in self.root.rglob("*.py"))
        if interpreter is None:
            return "none (no target interpreter): every cold start compiles each module it imports"
        jobs = [
            (relative, f"{mount}/{relative}", CHECKED if checked_own and relative in self.own else UNCHECKED)
            for relative in sources
        ]
        compiled = compile_tree(interpreter, self.root, jobs)
        for relative, message in compiled.failed:
            self.warnings.append(
                f"{relative} does not compile under {interpreter.version} (left as source): {message}"
            )
        own = sum(1 for job in jobs if job[2] == CHECKED)
        how = f"{UNCHECKED} .pyc ({compiled.cache_tag})"
        if own:
            how = f"{CHECKED} .pyc for the {own} modules of the source tree, {how} for the rest"
        return f"{how}, compiled by CPython {interpreter.version} ({interpreter.path})"

    def write(
        self,
        kind: str,
        out: Path,
        prefix: str,
        bytecode: str,
        interpreter: Interpreter | None,
        limits: Limits,
        with_layers: Sequence[Path] = (),
    ) -> BuildResult:
        """Write the stage to ``out`` (a .zip, or a new or empty directory) and check the limits."""
        files = sorted(
            (f"{prefix}{path.relative_to(self.root).as_posix()}", path)
            for path in self.root.rglob("*")
            if path.is_file()
        )
        unzipped = sum(path.stat().st_size for _, path in files)
        combined = unzipped + sum(unzipped_size(layer) for layer in with_layers) if with_layers else 0
        if out.suffix == ".zip":
            write_zip(files, out)
            zipped: int | None = out.stat().st_size
            digest: str | None = sha256_file(out)
        else:
            write_tree(files, out)
            zipped = digest = None
        problems = check_limits(max(unzipped, combined), zipped, limits=limits)
        return BuildResult(
            kind,
            out,
            self.target,
            interpreter,
            bytecode,
            len(files),
            unzipped,
            zipped,
            digest,
            _contents(self.root, self.wheels),
            tuple(wheel.filename for wheel in self.wheels),
            tuple(self.left_out),
            tuple(self.warnings),
            tuple(problems),
            combined,
            limits,
        )


def _contents(root: Path, wheels: Iterable[InstalledWheel]) -> tuple[tuple[str, int, int, str], ...]:
    """Sizes by top-level entry, with the wheel it came from; ``.dist-info`` together; biggest first."""
    origin = {
        PurePosixPath(name).parts[0]: wheel.filename
        for wheel in wheels
        for name in wheel.files
        if not PurePosixPath(name).parts[0].endswith(".dist-info")
    }
    sizes: dict[str, list[int]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            parts = path.relative_to(root).parts
            top = parts[0]
            if top == "__pycache__" and len(parts) == 2:  # a top-level module's bytecode counts with it
                top = parts[1].split(".")[0] + ".py"
            key = "*.dist-info (metadata)" if top.endswith(".dist-info") else top
            entry = sizes.setdefault(key, [0, 0])
            entry[0] += path.stat().st_size
            entry[1] += 1
    entries = [(name, size, count, origin.get(name, "")) for name, (size, count) in sizes.items()]
    return tuple(sorted(entries, key=lambda entry: (-entry[1], entry[0])))


def _check_out(out: Path, sources: Iterable[Path]) -> None:
    for source in sources:
        resolved = source.resolve()
        if out.resolve() == resolved or resolved in out.resolve().parents:
            raise BuildError(f"the output {str(out)!r} is inside the tree it is built from", path=str(out))
    if out.suffix != ".zip" and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BuildError(
            f"the output directory {str(out)!r} exists and is not empty; remove it or name another "
            "(a name ending in .zip writes a zip)",
            path=str(out),
        )


def _interpreter(
    target: Target, explicit: str | os.PathLike[str] | None, bytecode: bool
) -> Interpreter | None:
    if not bytecode:
        return None
    return find_interpreter(target.python, explicit)


def _missing(target: Target, kind: str, require: bool) -> str:
    looked = ", ".join(candidates(target.python)) or f"python{target.python} on PATH, ~/.pyenv/versions"
    message = (
        f"no CPython {target.python} found here (looked for {looked}): the {kind} has no bytecode, so "
        "every cold start compiles each module it imports, in a directory where Lambda cannot keep "
        "the result (imports took 3.2x to 3.6x as long as with bytecode in our measurements; "
        "see docs/deploy.md). "
        f"Install CPython {target.python} (for example 'pyenv install {target.python}') or pass its path "
        "as interpreter (--interpreter)"
    )
    if require:
        raise BuildError(message, python=target.python)
    return message


def build_layer(
    out: str | os.PathLike[str],
    *,
    python: str = "3.12",
    arch: str = "x86_64",
    extras: Sequence[str] = (),
    include_runtime_packages: bool = False,
    interpreter: str | os.PathLike[str] | None = None,
    bytecode: bool = True,
    require_bytecode: bool = False,
    source: str | os.PathLike[str] | None = None,
    wheels: Sequence[str | os.PathLike[str]] | None = None,
    pip_options: Sequence[str] = (),
    limits: Limits = LAMBDA_LIMITS,
) -> BuildResult:
    """Build a Lambda layer of ``lambda_kit`` and the requirements of ``extras``, compiled for the runtime.

    The layer holds ``python/lambda_kit`` (from this source tree, never the package
    index) and the target platform's wheels of the extras' requirements, with
    hash-based bytecode compiled by the target Python itself. It leaves out what the
    runtime already has (boto3, botocore, urllib3, s3transfer, jmespath,
    python-dateutil, six), the development tools, scripts, tests and bytecode of
    other Pythons. The same inputs give a byte-identical zip.

    Args:
        out: A ``.zip`` file to write, or a new or empty directory (it gets ``python/``).
        python: The runtime's Python, ``"3.10"`` to ``"3.13"``.
        arch: ``"x86_64"`` or ``"arm64"``.
        extras: lambda_kit's extras to include, e.g. ``["pydantic", "protobuf"]``.
        include_runtime_packages: Ship boto3 and the rest of the runtime's packages too
            (when a newer boto3 than the runtime's is needed).
        interpreter: The target Python's path; by default it is searched for
            (pyenv's versions, then ``python3.X`` on PATH).
        bytecode: False to ship sources only (for measurements).
        require_bytecode: Raise instead of warning when no target interpreter is found.
        source: The ``lambda_kit`` package directory; by default the importable one.
        wheels: Use these wheel files instead of asking pip (no network).
        pip_options: More options for ``pip download``, e.g. ``["--index-url", URL]``.
        limits: The size limits to check against (Lambda's by default).

    Returns:
        What was written; :meth:`BuildResult.summary` reports it.

    Raises:
        ConfigurationError: an unknown Python, architecture or extra.
        BuildError: pip failed, an explicit interpreter does not fit, the output is in
            the way, or bytecode was required and no target interpreter was found.

    Example:
        >>> result = build_layer("build/layer.zip", python="3.12", extras=["pydantic"])  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
    """
    target = Target(python, arch)
    out_path = Path(out)
    project = find_project(None if source is None else Path(source))
    requirements = project.requirements(extras)
    _check_out(out_path, [project.package_dir])
    found = _interpreter(target, interpreter, bytecode)
    with tempfile.TemporaryDirectory(prefix="lambda-kit-layer-") as scratch:
        builder = _Builder(target, Path(scratch, "stage"), Path(scratch))
        builder.copy(project.package_dir, "lambda_kit")
        builder.add_dist_info(project)
        builder.install(
            requirements,
            (),
            None if wheels is None else [Path(wheel) for wheel in wheels],
            found,
            pip_options,
            include_runtime_packages,
        )
        builder.prune()
        builder.check_native()
        if found is None and bytecode:
            builder.warnings.append(_missing(target, "layer", require_bytecode))
        how = builder.compile(found, LAYER_MOUNT, checked_own=False)
        return builder.write("layer", out_path, f"{LAYER_DIR}/", how, found, limits)


def build_bundle(
    source_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    python: str = "3.12",
    arch: str = "x86_64",
    include_runtime_packages: bool = False,
    interpreter: str | os.PathLike[str] | None = None,
    bytecode: bool = True,
    require_bytecode: bool = False,
    wheels: Sequence[str | os.PathLike[str]] | None = None,
    pip_options: Sequence[str] = (),
    with_layers: Sequence[str | os.PathLike[str]] = (),
    limits: Limits = LAMBDA_LIMITS,
) -> BuildResult:
    """Build a function's deployment package: its code and requirements, compiled for the runtime.

    The same platform, pruning and bytecode rules as :func:`build_layer`, with one
    difference: the function's own modules get ``checked-hash`` bytecode (Lambda's
    console editor can change those sources in place, and a stale unchecked ``.pyc``
    would silently win), the vendored requirements ``unchecked-hash``.

    Args:
        source_dir: The function's code directory (the handler module at its top).
            Hidden entries, caches, and top-level ``tests/``, ``test/`` and ``bin/``
            are left out.
        out: A ``.zip`` file to write, or a new or empty directory.
        requirements: A requirements.txt path, or requirement strings.
        with_layers: The layers (zips or directories) the function will run with,
            counted in the 250 MB unzipped limit.
        python, arch, include_runtime_packages, interpreter, bytecode,
        require_bytecode, wheels, pip_options, limits: as for :func:`build_layer`.

    Raises:
        ConfigurationError: an unknown Python or architecture, or a source that is not a directory.
        BuildError: as for :func:`build_layer`; also when the requirements bring the
            unrelated ``lambda-kit`` project from the package index.

    Example:
        >>> result = build_bundle(  # doctest: +SKIP
        ...     "src", "build/function.zip", requirements="src/requirements.txt"
        ... )
    """
    target = Target(python, arch)
    source = Path(source_dir)
    if not source.is_dir():
        raise ConfigurationError(
            f"Invalid source_dir {str(source)!r}; expected the function's code directory",
            setting="source_dir",
            value=str(source),
        )
    out_path = Path(out)
    _check_out(out_path, [])
    requirement_files: list[Path] = []
    strings: list[str] = []
    if isinstance(requirements, (str, os.PathLike)):
        requirement_files.append(Path(requirements))
    elif requirements is not None:
        strings = list(requirements)
        for requirement in strings:
            if requirement_name(requirement)[0] == FOREIGN_LAMBDA_KIT:
                raise BuildError(
                    f"the requirement {requirement!r} names the unrelated 'lambda-kit' project on the "
                    f"package index; lambda-kit for fast Lambda handlers is {INSTALL_NAME!r}, or a layer "
                    "built with 'lambda-kit layer'",
                    requirement=requirement,
                )
    found = _interpreter(target, interpreter, bytecode)
    with tempfile.TemporaryDirectory(prefix="lambda-kit-bundle-") as scratch:
        builder = _Builder(target, Path(scratch, "stage"), Path(scratch))
        builder.root.mkdir(parents=True)
        builder.copy(source, "", skip=[out_path], top_level_prune=True)
        builder.install(
            strings,
            requirement_files,
            None if wheels is None else [Path(wheel) for wheel in wheels],
            found,
            pip_options,
            include_runtime_packages,
        )
        builder.prune()
        builder.check_native()
        if found is None and bytecode:
            builder.warnings.append(_missing(target, "bundle", require_bytecode))
        how = builder.compile(found, TASK_ROOT, checked_own=True)
        return builder.write(
            "bundle", out_path, "", how, found, limits, [Path(layer) for layer in with_layers]
        )
