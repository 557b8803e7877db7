"""What an AWS stand-in is seeded with: secrets and parameters (internal; see AwsStandIn).

A seed is a mapping with up to two keys, given from code or read from a JSON or YAML
file (``lambda-kit bench --aws-seed seed.yaml``, the ``lambda_aws_seed`` fixture)::

    secrets:
      prod/db: {"username": "app", "password": "local-only"}   # an object: stored as its JSON
      prod/api-key: "k-123"                                     # a string: stored as is
    parameters:
      /shop/table: orders                                       # String
      /shop/hosts: [a.example, b.example]                       # StringList
      /shop/token: {value: "t-1", type: SecureString}           # the type spelled out

A secret's value is a string (``SecretString`` as is), bytes (``SecretBinary``: from
code, or YAML's ``!!binary``) or any other JSON value (``SecretString`` holding its
JSON). Names and values are checked against Secrets Manager's and Parameter Store's
rules, so a seed that loads here also loads into AWS. Errors name the entry and what
was wrong, never a value; a YAML syntax error is reported by line and column only
(YAML's own message quotes the text, which may be a secret).
"""

from __future__ import annotations

import json
import os
import re

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["Seed", "load_seed", "parse_seed"]

if TYPE_CHECKING:
    from typing import TypeAlias

    SeedSource: TypeAlias = "Seed | Mapping[str, Any] | str | os.PathLike[str] | None"

SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")  # Secrets Manager's CreateSecret Name
SECRET_LIMIT = 65_536  # bytes of SecretString or SecretBinary
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.\-/]{1,1011}")  # Parameter Store's Name characters
PARAMETER_LIMIT = 4_096  # characters of a Standard-tier parameter's value
PARAMETER_DEPTH = 15  # levels of a parameter hierarchy
PARAMETER_TYPES = ("String", "StringList", "SecureString")
_KEYS = ("secrets", "parameters")


class Seed:
    """Secrets and parameters to create in a stand-in, checked (the repr shows names only).

    Attributes:
        secrets: Name -> ``str`` (SecretString) or ``bytes`` (SecretBinary).
        parameters: Name -> ``(value, type)``, the type one of :data:`PARAMETER_TYPES`.
    """

    __slots__ = ("parameters", "secrets")

    def __init__(
        self,
        secrets: Mapping[str, str | bytes] | None = None,
        parameters: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.secrets: dict[str, str | bytes] = dict(secrets or {})
        self.parameters: dict[str, tuple[str, str]] = dict(parameters or {})

    def __bool__(self) -> bool:
        return bool(self.secrets or self.parameters)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Seed):
            return NotImplemented
        return self.secrets == other.secrets and self.parameters == other.parameters

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Seed(secrets={sorted(self.secrets)}, parameters={sorted(self.parameters)})"


def _error(message: str, origin: str, **context: Any) -> ConfigurationError:
    return ConfigurationError(f"AWS seed {origin}: {message}", setting="aws_seed", origin=origin, **context)


def _kind(value: object) -> str:
    return type(value).__name__


def _secret_value(name: str, value: object, origin: str) -> str | bytes:
    data: str | bytes
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        size = len(data)
    elif isinstance(value, str):
        data = value
        size = len(value.encode("utf-8", "surrogatepass"))
        if any("\ud800" <= c <= "\udfff" for c in value):
            raise _error(
                f"secret {name!r} holds a lone surrogate, which has no UTF-8 form.", origin, name=name
            )
    elif value is None:
        raise _error(
            f"secret {name!r} has no value; expected a string, bytes or a JSON value.", origin, name=name
        )
    else:
        try:
            data = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            raise _error(
                f"secret {name!r} holds a {_kind(value)} (or contains one) that has no JSON form; "
                "expected a string, bytes, or an object, array, number or boolean of JSON.",
                origin,
                name=name,
            ) from None
        return _secret_value(name, data, origin)
    if size > SECRET_LIMIT:
        raise _error(
            f"secret {name!r} is {size:,} bytes; Secrets Manager takes at most {SECRET_LIMIT:,}.",
            origin,
            name=name,
        )
    return data


def _check_secret_name(name: object, origin: str) -> str:
    if not isinstance(name, str) or not SECRET_NAME.fullmatch(name):
        raise _error(
            f"invalid secret name {name!r}; expected 1-512 characters: ASCII letters, digits and /_+=.@-",
            origin,
            name=name,
        )
    return name


def _check_parameter_name(name: object, origin: str) -> str:
    if not isinstance(name, str):
        raise _error(f"invalid parameter name {name!r}: expected a string.", origin, name=name)
    problem = ""
    if not PARAMETER_NAME.fullmatch(name):
        problem = "expected 1-1011 characters: ASCII letters, digits and _.-/"
    elif "/" in name and not name.startswith("/"):
        problem = "a name with a hierarchy (/) must start with /"
    elif name.endswith("/") or "//" in name:
        problem = "a hierarchy has no empty level"
    elif name.count("/") > PARAMETER_DEPTH:
        problem = f"a hierarchy has at most {PARAMETER_DEPTH} levels"
    elif name.lstrip("/").lower().startswith(("aws", "ssm")):
        problem = "names starting with 'aws' or 'ssm' are reserved"
    if problem:
        raise _error(f"invalid parameter name {name!r}: {problem}.", origin, name=name)
    return name


def _parameter_value(name: str, value: object, origin: str) -> tuple[str, str]:
    kind = ""  # String, or StringList for a list, unless spelled out
    if isinstance(value, dict):
        unknown = sorted(str(key) for key in value if key not in ("value", "type"))
        if unknown or "value" not in value:
            raise _error(
                f"parameter {name!r} is a mapping with keys {sorted(map(str, value))}; "
                "expected {value: ..., type: String|StringList|SecureString} (type optional).",
                origin,
                name=name,
            )
        kind = value.get("type", "String")
        if kind not in PARAMETER_TYPES:
            raise _error(
                f"parameter {name!r} has type {kind!r}; expected one of: {', '.join(PARAMETER_TYPES)}.",
                origin,
                name=name,
            )
        value = value["value"]
    if isinstance(value, list):
        kind = kind or "StringList"
        if kind != "StringList" or not value or not all(isinstance(item, str) and item for item in value):
            raise _error(
                f"parameter {name!r}: a list is a StringList of non-empty strings (type StringList).",
                origin,
                name=name,
            )
        if any("," in item for item in value):
            raise _error(
                f"parameter {name!r}: a StringList item holds a comma, which separates the items.",
                origin,
                name=name,
            )
        value = ",".join(value)
    if not isinstance(value, str) or not value:
        raise _error(
            f"parameter {name!r} holds {'an empty string' if value == '' else 'a ' + _kind(value)}; "
            "expected a non-empty string, a list of strings, or {value: ..., type: ...}.",
            origin,
            name=name,
        )
    if len(value) > PARAMETER_LIMIT or any("\ud800" <= c <= "\udfff" for c in value):
        raise _error(
            f"parameter {name!r} is {len(value):,} characters or not UTF-8; a Standard parameter "
            f"takes at most {PARAMETER_LIMIT:,} characters.",
            origin,
            name=name,
        )
    return value, kind or "String"


def parse_seed(document: object, origin: str = "(from code)") -> Seed:
    """A :class:`Seed` from a parsed document; ``origin`` names it in errors.

    Raises:
        ConfigurationError: The document is not a seed (the message says what is valid).
    """
    if document is None:
        return Seed()
    if not isinstance(document, dict):
        raise _error(f"expected a mapping with keys {list(_KEYS)}, got a {_kind(document)}.", origin)
    unknown = sorted(str(key) for key in document if key not in _KEYS)
    if unknown:
        raise _error(f"unknown key(s) {unknown}; expected only {list(_KEYS)}.", origin)
    sections: dict[str, dict[Any, Any]] = {}
    for key in _KEYS:
        section = document.get(key) or {}
        if not isinstance(section, dict):
            raise _error(f"{key!r} must map names to values, got a {_kind(section)}.", origin)
        sections[key] = section
    secrets = {
        _check_secret_name(name, origin): _secret_value(name, value, origin)
        for name, value in sections["secrets"].items()
    }
    parameters = {
        _check_parameter_name(name, origin): _parameter_value(name, value, origin)
        for name, value in sections["parameters"].items()
    }
    return Seed(secrets, parameters)


def load_seed(source: SeedSource) -> Seed:
    """A checked :class:`Seed` from a mapping, a JSON or YAML file's path, a Seed, or None.

    Raises:
        ConfigurationError: The file cannot be read or parsed, or is not a seed.
    """
    if source is None:
        return Seed()
    if isinstance(source, Seed):
        return source
    if isinstance(source, dict):
        return parse_seed(source)
    if not isinstance(source, (str, os.PathLike)):
        raise _error(
            f"expected a mapping or a file's path, got a {_kind(source)}.", "(from code)", value=_kind(source)
        )
    path = os.fspath(source)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise _error("expected a .json, .yaml or .yml file.", repr(path), path=path)
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as error:
        raise _error(f"cannot be read: {error.strerror}.", repr(path), path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _error(f"is not UTF-8 (byte {error.start}).", repr(path), path=path) from None
    return parse_seed(_parse_json(text, path) if suffix == ".json" else _parse_yaml(text, path), repr(path))


def _parse_json(text: str, path: str) -> object:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as error:
        # JSONDecodeError's message names the place, never the text.
        position = (
            f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        )
        raise _error(f"is not JSON{position}.", repr(path), path=path) from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _parse_yaml(text: str, path: str) -> object:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is in the tools extra
        raise _error(
            "YAML needs pyyaml (pip install pyyaml), or give the seed as JSON.", repr(path)
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise _error(f"is not valid YAML{where}.", repr(path), path=path) from None
    return document
