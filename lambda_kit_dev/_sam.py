"""A function of a SAM template, as the emulator's settings: run it locally without Docker.

``lambda-kit invoke`` and ``lambda-kit bench`` take ``--template template.yaml
--function NAME`` and read the function's ``Runtime`` (``python3.12`` becomes
``--python 3.12``), ``Handler``, ``CodeUri`` (the task root, relative to the
template), ``MemorySize``, ``Timeout``, ``Environment`` and ``Layers``, with the
template's ``Globals`` merged as SAM merges them: the function's value replaces a
global one, maps are merged key by key, lists are the global entries then the
function's. A layer is a ``!Ref`` to an ``AWS::Serverless::LayerVersion`` (its
``ContentUri``) or ``AWS::Lambda::LayerVersion`` (its ``Content``) of the same
template, with local content. The output of ``sam build``
(``.aws-sam/build/template.yaml``) works too: its paths point into the build.

The YAML may use CloudFormation's short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``...):
they read as their long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``). Only the
properties above are resolved, and only what can be known before deploying:
parameters (``--parameter NAME=VALUE``, else the ``Default``), the pseudo parameters
``AWS::Region``, ``AWS::AccountId``, ``AWS::Partition``, ``AWS::URLSuffix`` and
``AWS::NoValue``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``,
``Fn::FindInMap``, ``Fn::If`` with the template's ``Conditions``, and ``Fn::Base64``.
What cannot (a ``!Ref`` to a resource, ``!GetAtt``, a parameter without a default) is
a :class:`~lambda_kit.exceptions.ConfigurationError` naming the property, unless an
``--env`` value replaces that environment variable. Booleans are ``true`` and
``false`` only (YAML 1.2): ``on`` and ``yes`` stay strings.

Example:
    >>> spec = function_spec("examples/tuned/template.yaml", "OrdersFunction")  # doctest: +SKIP
    >>> spec.handler, spec.python, spec.memory_mb  # doctest: +SKIP
    ('app.handler', '3.12', 512)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Any

__all__ = ["FunctionSpec", "function_spec", "load_template"]

FUNCTION = "AWS::Serverless::Function"
LAYER_TYPES = {"AWS::Serverless::LayerVersion": "ContentUri", "AWS::Lambda::LayerVersion": "Content"}
_SUB = re.compile(r"\$\{([^}]*)\}")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NO_VALUE = object()  # AWS::NoValue: the property is left out


class _Unresolvable(Exception):
    """A value that cannot be known before deploying; ``str()`` says why."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function's settings, read from a template (paths absolute).

    ``python`` is the runtime's version (``"3.12"``); ``env`` holds the variables
    whose values could be resolved (see :func:`function_spec`).
    """

    logical_id: str
    handler: str
    task_root: str
    python: str
    memory_mb: int
    timeout_s: float
    env: dict[str, str]
    layers: tuple[str, ...]
    function_name: str
    template: str


def _loader() -> type:
    """A safe YAML loader that reads CloudFormation's short tags as their long form."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # YAML 1.2 booleans (true/false only) and no timestamps: template values stay text.
    resolvers = {
        first: [(tag, pattern) for tag, pattern in entries if not tag.endswith((":bool", ":timestamp"))]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.yaml_implicit_resolvers = resolvers
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix in ("Ref", "Condition"):
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", intrinsic)
    return Loader


def parse_template(text: str, source: str = "<template>") -> dict[str, Any]:
    """A template's text as a mapping (YAML or JSON).

    Raises:
        ConfigurationError: It is not YAML, or not a mapping with ``Resources``.
    """
    import yaml

    try:
        document = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as error:
        reason = str(error).strip() or type(error).__name__
        raise ConfigurationError(
            f"Template {source} is not valid YAML: {reason}", setting="template", template=source
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ConfigurationError(
            f"Template {source} has no Resources mapping; expected a SAM or CloudFormation template.",
            setting="template",
            template=source,
        )
    return document


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a template file (see :func:`parse_template`)."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"Cannot read template {source!r}: {getattr(error, 'strerror', None) or error}",
            setting="template",
            template=source,
        ) from None
    return parse_template(text, source)


class _Resolver:
    """Resolves the intrinsic functions that can be known before deploying."""

    def __init__(
        self, template: Mapping[str, Any], parameters: Mapping[str, str], region: str, account: str
    ) -> None:
        self.template = template
        self.parameters = parameters
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws-cn" if region.startswith("cn-") else "aws",
            "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
        }
        self._conditions: dict[str, bool] = {}

    def _section(self, name: str) -> Mapping[str, Any]:
        section = self.template.get(name)
        return section if isinstance(section, dict) else {}

    def ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise _Unresolvable(f"!Ref needs a name, not {name!r}")
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self._typed(name, self.parameters[name])
        if name in self.pseudo:
            return self.pseudo[name]
        declared = self._section("Parameters").get(name)
        if isinstance(declared, dict):
            if "Default" not in declared:
                raise _Unresolvable(
                    f"!Ref {name} is a parameter without a default: give it with --parameter {name}=VALUE"
                )
            return self._typed(name, declared["Default"])
        if name in self._section("Resources"):
            raise _Unresolvable(f"!Ref {name} is a resource, known only once deployed")
        raise _Unresolvable(f"!Ref {name}: the template has no such parameter or resource")

    def _typed(self, name: str, value: Any) -> Any:
        declared = self._section("Parameters").get(name)
        kind = declared.get("Type", "") if isinstance(declared, dict) else ""
        if isinstance(kind, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            return value if isinstance(value, list) else [part.strip() for part in str(value).split(",")]
        return value

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function resolved (``_NO_VALUE`` where dropped)."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if isinstance(key, str) and key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Sub":
            return self._sub(argument)
        if name == "Join" and isinstance(argument, list) and len(argument) == 2:
            items = self.resolve(argument[1])
            if isinstance(items, list):
                return str(self.resolve(argument[0])).join(_text(item) for item in items)
        if name == "Select" and isinstance(argument, list) and len(argument) == 2:
            index, items = self.resolve(argument[0]), self.resolve(argument[1])
            if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                return items[int(index)]
        if name == "Split" and isinstance(argument, list) and len(argument) == 2:
            delimiter, text = self.resolve(argument[0]), self.resolve(argument[1])
            if isinstance(delimiter, str) and delimiter and isinstance(text, str):
                return text.split(delimiter)
        if name == "FindInMap" and isinstance(argument, list) and len(argument) in (3, 4):
            keys = [self.resolve(item) for item in argument[:3]]
            found: Any = self._section("Mappings")
            for key in keys:
                found = found.get(key) if isinstance(found, dict) and isinstance(key, str) else None
            if found is not None:
                return found
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"])
            raise _Unresolvable(f"!FindInMap {keys}: no such entry in Mappings")
        if name == "If" and isinstance(argument, list) and len(argument) == 3:
            return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])
        if name == "Base64":
            import base64

            return base64.b64encode(_text(self.resolve(argument)).encode()).decode()
        if name in ("Sub", "Join", "Select", "Split", "FindInMap", "If"):
            raise _Unresolvable(f"!{name} {argument!r} is malformed")
        raise _Unresolvable(f"!{name} is known only once deployed")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}
        if not isinstance(text, str):
            raise _Unresolvable(f"!Sub needs a string, not {text!r}")

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name:
                raise _Unresolvable(f"${{{name}}} in !Sub is an attribute, known only once deployed")
            return _text(self.ref(name))

        return _SUB.sub(replace, text)

    def condition(self, name: Any) -> bool:
        if not isinstance(name, str):
            return self._test(name)
        if name not in self._conditions:
            declared = self._section("Conditions")
            if name not in declared:
                raise _Unresolvable(f"condition {name!r} is not in the template's Conditions")
            self._conditions[name] = False  # a condition that refers to itself is false
            self._conditions[name] = self._test(declared[name])
        return self._conditions[name]

    def _test(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                return _text(self.resolve(argument[0])) == _text(self.resolve(argument[1]))
            if key == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self._test(argument[0])
            if key == "Fn::And" and isinstance(argument, list):
                return all(self._test(item) for item in argument)
            if key == "Fn::Or" and isinstance(argument, list):
                return any(self._test(item) for item in argument)
        raise _Unresolvable(f"condition {value!r} cannot be evaluated")


def _text(value: Any) -> str:
    """A scalar as CloudFormation writes it into a string."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _Unresolvable(f"{value!r} is not a string or a number")


def _intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and any(key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")) for key in value)
    )


def merge_globals(globals_: Any, properties: Any) -> Any:
    """SAM's Globals rule: the resource's value wins; maps merge key by key; lists add up."""
    if isinstance(globals_, dict) and isinstance(properties, dict):
        if _intrinsic(globals_) or _intrinsic(properties):
            return properties
        merged = dict(globals_)
        for key, value in properties.items():
            merged[key] = merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(properties, list):
        return globals_ + properties
    return properties


def _functions(template: Mapping[str, Any]) -> list[str]:
    return sorted(
        name
        for name, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == FUNCTION
    )


def function_spec(
    template_path: str | os.PathLike[str],
    function: str | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    env_overrides: Collection[str] = (),
    region: str = "us-east-1",
    account: str = "123456789012",
) -> FunctionSpec:
    """Read one ``AWS::Serverless::Function`` of a template (see the module).

    Args:
        template_path: The template (``template.yaml``, or ``sam build``'s
            ``.aws-sam/build/template.yaml``).
        function: The function's logical ID; may be left out when the template has
            one function.
        parameters: Template parameter values (and pseudo parameters, such as
            ``AWS::StackName``), over the parameters' defaults.
        env_overrides: Environment variables given otherwise (``--env``): theirs may
            stay unresolved.
        region: ``AWS::Region``.
        account: ``AWS::AccountId``.

    Raises:
        ConfigurationError: The template cannot be read, the function is missing or
            not a Python zip function, or a property cannot be resolved (the
            message names it and says how to give it).
    """
    path = os.path.abspath(os.fspath(template_path))
    template = load_template(path)
    base = os.path.dirname(path)
    names = _functions(template)
    if function is None:
        if len(names) != 1:
            raise ConfigurationError(
                f"Template {path} has {len(names)} functions ({', '.join(names) or 'none'}); "
                "choose one with --function NAME.",
                setting="function",
                functions=names,
            )
        function = names[0]
    resource = template["Resources"].get(function)
    if not isinstance(resource, dict) or resource.get("Type") != FUNCTION:
        found = resource.get("Type") if isinstance(resource, dict) else None
        raise ConfigurationError(
            f"{function!r} is not an {FUNCTION} of {path}"
            + (f" (it is an {found})" if found else "")
            + f"; its functions: {', '.join(names) or 'none'}.",
            setting="function",
            value=function,
            functions=names,
        )
    globals_section = template.get("Globals")
    defaults = globals_section.get("Function") if isinstance(globals_section, dict) else None
    own = resource.get("Properties")
    properties = merge_globals(
        defaults if isinstance(defaults, dict) else {}, own if isinstance(own, dict) else {}
    )
    resolver = _Resolver(template, dict(parameters or {}), region, account)

    def problem(name: str, reason: str) -> ConfigurationError:
        return ConfigurationError(
            f"{name} of function {function!r} in {path}: {reason}.",
            setting="template",
            function=function,
            property=name,
        )

    def get(name: str, default: Any = None) -> Any:
        if name not in properties:
            return default
        try:
            value = resolver.resolve(properties[name])
        except _Unresolvable as error:
            raise problem(name, str(error)) from None
        return default if value is _NO_VALUE else value

    if get("PackageType", "Zip") != "Zip":
        raise problem(
            "PackageType", "an Image function runs from its container image; the emulator runs zip functions"
        )
    runtime = get("Runtime")
    version = (
        runtime[len("python") :] if isinstance(runtime, str) and runtime.startswith("python3.") else None
    )
    if version is None:
        raise problem("Runtime", f"{runtime!r} is not a Python runtime (python3.X)" if runtime else "missing")
    handler = get("Handler")
    if not isinstance(handler, str) or not handler:
        raise problem("Handler", "missing; expected module.function, e.g. app.handler")
    if "InlineCode" in properties:
        raise problem("InlineCode", "not supported: put the code in a directory and point CodeUri at it")
    code_uri = get("CodeUri", ".")
    if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
        raise problem("CodeUri", f"{code_uri!r} is not a local directory")
    task_root = os.path.normpath(os.path.join(base, code_uri))
    if not os.path.isdir(task_root):
        raise problem("CodeUri", f"{task_root} is not a directory (run sam build for a built template?)")
    memory = get("MemorySize", 128)
    timeout = get("Timeout", 3)
    try:
        memory_mb, timeout_s = int(memory), float(timeout)
    except (TypeError, ValueError):
        raise problem("MemorySize/Timeout", f"{memory!r} / {timeout!r} are not numbers") from None
    env = _environment(properties, resolver, env_overrides, problem)
    layers = _layers(template, properties.get("Layers") or [], resolver, base, problem)
    name = function
    try:
        given_name = resolver.resolve(properties.get("FunctionName"))
        if isinstance(given_name, str) and given_name:
            name = given_name
    except _Unresolvable:
        pass  # a name made at deploy time (from the stack's name, say): the logical ID stands in
    return FunctionSpec(
        logical_id=function,
        handler=handler,
        task_root=task_root,
        python=version,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        env=env,
        layers=tuple(layers),
        function_name=name,
        template=path,
    )


def _environment(
    properties: Mapping[str, Any],
    resolver: _Resolver,
    overrides: Collection[str],
    problem: Any,
) -> dict[str, str]:
    environment = properties.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    if environment is not None and not isinstance(variables, dict):
        if variables is None and isinstance(environment, dict):
            return {}
        raise problem("Environment.Variables", "expected a mapping of names to values")
    env: dict[str, str] = {}
    for key, raw in (variables or {}).items():
        if key in overrides:
            continue
        try:
            value = resolver.resolve(raw)
            if value is _NO_VALUE:
                continue
            env[str(key)] = _text(value)
        except _Unresolvable as error:
            raise problem(
                f"Environment.Variables.{key}", f"{error}; give the variable with --env {key}=VALUE"
            ) from None
    return env


def _layers(
    template: Mapping[str, Any], layers: Any, resolver: _Resolver, base: str, problem: Any
) -> list[str]:
    if not isinstance(layers, list):
        try:
            layers = resolver.resolve(layers)
        except _Unresolvable as error:
            raise problem("Layers", str(error)) from None
        if not isinstance(layers, list):
            raise problem("Layers", f"expected a list, not {layers!r}")
    found: list[str] = []
    resources = template["Resources"]
    for index, entry in enumerate(layers):
        name = f"Layers[{index}]"
        target = entry.get("Ref") if isinstance(entry, dict) and len(entry) == 1 else None
        resource = resources.get(target) if isinstance(target, str) else None
        if isinstance(resource, dict) and resource.get("Type") in LAYER_TYPES:
            key = LAYER_TYPES[resource["Type"]]
            properties = resource.get("Properties")
            content = properties.get(key) if isinstance(properties, dict) else None
            if not isinstance(content, str) or content.startswith("s3://"):
                raise problem(name, f"layer {target}'s {key} {content!r} is not a local directory or zip")
            path = os.path.normpath(os.path.join(base, content))
            if not os.path.exists(path):
                raise problem(name, f"layer {target}'s {key} {path} does not exist (build the layer first)")
            found.append(path)
            continue
        try:
            value = resolver.resolve(entry)
        except _Unresolvable as error:
            raise problem(name, str(error)) from None
        if value is _NO_VALUE:
            continue
        raise problem(
            name,
            f"{value!r} is a published layer version, not one of this template: the emulator runs "
            "local layers; pass the layer's content with --layer ZIP|DIR",
        )
    return found
