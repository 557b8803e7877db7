"""Where the layer's ``lambda_kit`` comes from, and what its extras require.

The layer vendors the ``lambda_kit`` package of the tree this builder runs from
(a checkout, or an installed wheel), never a copy from the package index: the
index name ``lambda-kit`` belongs to an unrelated project with the same import
name. The extras' requirements come from that tree's ``pyproject.toml`` when there
is one (and Python 3.11+ can read it), else from the installed distribution's
metadata.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.layer._wheels import normalize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# Distribution names the runtime package has had, the current one first.
DISTRIBUTIONS = ("lambda-perf-kit", "lambda-kit")
NONE_KNOWN = (
    "(none known: neither a pyproject.toml this Python can read (3.11+) beside the package "
    "nor an installed lambda-perf-kit's metadata)"
)
# Extras that are development tooling: they never belong in a layer.
DEV_EXTRAS = frozenset({"tools", "dev"})

_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?")
_EXTRA_MARKER = re.compile(
    r"""^(?:(?P<rest>.+?)\s+and\s+)?extra\s*==\s*(?P<q>['"])(?P<extra>[^'"]+)(?P=q)$"""
)


def requirement_name(requirement: str) -> tuple[str, tuple[str, ...]]:
    """The normalized distribution name and the extras of a PEP 508 requirement string.

    Example:
        >>> requirement_name("Lambda_Perf_Kit[aws, pydantic]>=0.1")
        ('lambda-perf-kit', ('aws', 'pydantic'))

    Raises:
        ValueError: the string does not start with a distribution name.
    """
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    extras = tuple(normalize(extra.strip()) for extra in (match["extras"] or "").split(",") if extra.strip())
    return normalize(match["name"]), extras


def extras_from_metadata(requires: Iterable[str]) -> dict[str, list[str]]:
    """Group ``Requires-Dist`` lines by their ``extra == "..."`` marker; other markers stay on the line.

    Example:
        >>> extras_from_metadata(["pydantic>=2; extra == 'pydantic'", "x; os_name == 'nt' and extra == 'a'"])
        {'pydantic': ['pydantic>=2'], 'a': ["x; os_name == 'nt'"]}

    Raises:
        ValueError: a marker names an extra in a form other than ``... and extra == "name"``.
    """
    extras: dict[str, list[str]] = {}
    for line in requires:
        requirement, _, marker = line.partition(";")
        marker = marker.strip()
        if "extra" not in marker:
            continue  # not behind an extra: the runtime package itself has no dependency
        match = _EXTRA_MARKER.match(marker)
        if match is None:
            raise ValueError(f"unsupported marker in requirement {line!r}")
        rest = match["rest"]
        kept = requirement.strip() if rest is None else f"{requirement.strip()}; {rest.strip()}"
        extras.setdefault(normalize(match["extra"]), []).append(kept)
    return extras


@dataclass(frozen=True)
class Project:
    """The runtime package to vendor: its directory, distribution name, version and extras."""

    package_dir: Path
    name: str | None = None
    version: str | None = None
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def requirements(self, extras: Iterable[str]) -> list[str]:
        """The requirement strings of ``extras``, with the project's references to itself expanded.

        Raises:
            ConfigurationError: an extra is unknown, or is development tooling.
        """
        wanted = [normalize(extra) for extra in extras]
        known = sorted(self.extras)
        for extra in wanted:
            if extra in DEV_EXTRAS:
                raise ConfigurationError(
                    f"Invalid extra {extra!r}: it is development tooling, which a layer never holds; "
                    f"expected some of: {', '.join(name for name in known if name not in DEV_EXTRAS)}",
                    setting="extras",
                    value=extra,
                )
            if extra not in self.extras:
                raise ConfigurationError(
                    f"Invalid extra {extra!r}; expected some of: "
                    f"{', '.join(name for name in known if name not in DEV_EXTRAS) or NONE_KNOWN}",
                    setting="extras",
                    value=extra,
                )
        found: list[str] = []
        seen: set[str] = set()
        while wanted:
            extra = wanted.pop(0)
            if extra in seen:
                continue
            seen.add(extra)
            for requirement in self.extras[extra]:
                name, nested = requirement_name(requirement)
                if self.name is not None and name == normalize(self.name):
                    wanted.extend(nested)  # "lambda-perf-kit[aws,pydantic]" inside the "all" extra
                elif requirement not in found:
                    found.append(requirement)
        return found


def _from_pyproject(package_dir: Path) -> Project | None:
    try:
        tomllib = importlib.import_module("tomllib")
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10: the installed metadata serves
        return None

    pyproject = package_dir.parent / "pyproject.toml"
    try:
        with open(pyproject, "rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    project = document.get("project")
    if not isinstance(project, dict) or normalize(str(project.get("name", ""))) not in DISTRIBUTIONS:
        return None
    optional = project.get("optional-dependencies", {})
    extras = {normalize(str(key)): [str(item) for item in value] for key, value in optional.items()}
    return Project(package_dir, str(project["name"]), str(project.get("version", "")) or None, extras)


def _from_metadata(package_dir: Path) -> Project:
    for name in DISTRIBUTIONS:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        provided = distribution.metadata.get_all("Provides-Extra") or []
        if "pydantic" not in provided:  # the unrelated "lambda-kit" on the index has no such extra
            continue
        try:
            extras = extras_from_metadata(distribution.requires or [])
        except ValueError as error:
            raise ConfigurationError(str(error), setting="extras", value=name) from None
        return Project(package_dir, distribution.metadata["Name"], distribution.version, extras)
    return Project(package_dir)


def find_project(package_dir: Path | None = None) -> Project:
    """The runtime package this builder vendors: ``package_dir`` or the importable ``lambda_kit``.

    Raises:
        ConfigurationError: ``package_dir`` is not a ``lambda_kit`` package directory.
    """
    if package_dir is None:
        spec = importlib.util.find_spec("lambda_kit")
        locations = [] if spec is None else list(spec.submodule_search_locations or [])
        package_dir = Path(locations[0]) if locations else Path("lambda_kit")
    package_dir = package_dir.resolve()
    if package_dir.name != "lambda_kit" or not (package_dir / "__init__.py").is_file():
        raise ConfigurationError(
            f"Invalid source {str(package_dir)!r}; expected the lambda_kit package directory "
            "(the one holding lambda_kit/__init__.py)",
            setting="source",
            value=str(package_dir),
        )
    return _from_pyproject(package_dir) or _from_metadata(package_dir)
