"""The docs agree with the code: generated reference sections, inline example files, imports.

Parts of the docs are generated from the code, between marker comments that render as
nothing (on the built site and on the repository host alike):

* ``<!-- generated: errors -->``: the ``LambdaKitError`` tree, from the classes of
  ``lambda_kit.exceptions`` and ``lambda_kit_dev.exceptions``;
* ``<!-- generated: variables -->``: every ``LAMBDA_KIT_*`` variable, found in the source
  (each ``resolve("<setting>", ...)`` of ``lambda_kit._config``, each metrics setting and
  each variable read straight from ``os.environ``), with its argument, default and
  what it accepts;
* ``<!-- file: examples/.../x.py -->`` before a fenced block: the block is that file, inline,
  so the page reads the same on the repository host, where ``--8<--`` snippets are not
  expanded.

A test fails when a generated section differs from what the code gives today; run
``.venv/bin/python tests/test_docs.py`` to write them again. Every Python block of the
docs and the README imports the lambda-kit names it uses.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGES = ("lambda_kit", "lambda_kit_dev")

# Where each module's settings are explained.
PAGES = {
    "lambda_kit.secrets": "secrets.md",
    "lambda_kit.metrics": "metrics.md",
    "lambda_kit.http": "http.md",
    "lambda_kit.aws": "http.md",
    "lambda_kit.protobuf": "protobuf.md",
    "lambda_kit_dev.tune": "tuning.md",
}
# Variables the code reads straight from the environment (not through resolve()):
# what each does, its default and what it accepts. A new one fails a test until it is here.
DIRECT_VARIABLES = {
    "LAMBDA_KIT_CALIBRATION_FACTOR": (
        "`lambda-kit tune`: how much slower a Lambda vCPU is than a core of this machine; "
        "measured durations are scaled by it",
        "`1.0`",
        "a number > 0",
    ),
    "LAMBDA_KIT_CGROUP": (
        "a cgroup v2 directory (one systemd delegated to you, say) under which the emulator "
        "makes the groups that limit an environment's CPU and memory",
        "none: this process's own cgroup, where it may create groups",
        "a directory",
    ),
    "LAMBDA_KIT_LIMITS": (
        "`Emulator(limits=)`: limit each environment's CPU and memory as Lambda does for its memory size",
        "off",
        "1, true, on, yes (anything else is off)",
    ),
    "LAMBDA_KIT_RUNTIME_CACHE": (
        "where `--python 3.X` runtime environments are kept",
        "`$XDG_CACHE_HOME/lambda-kit/runtimes`, else `~/.cache/lambda-kit/runtimes`",
        "a directory",
    ),
}


# -- the error tree ----------------------------------------------------------------------


def error_classes() -> list[type[BaseException]]:
    """Every error class the two exceptions modules define."""
    found: list[type[BaseException]] = []
    for name in ("lambda_kit.exceptions", "lambda_kit_dev.exceptions"):
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name:
                found.append(value)
    return found


def _summary(cls: type) -> str:
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in doc.splitlines()).replace("``", "`")


def error_section() -> str:
    """The tree, then one row per class: its module and what it means."""
    from lambda_kit.exceptions import LambdaKitError

    classes = error_classes()
    ours = set(classes)

    def children(parent: type) -> list[type]:
        kids = [cls for cls in classes if cls.__bases__[0] is parent]
        # the runtime's classes first, the development tools' branch last, each alphabetical
        return sorted(kids, key=lambda cls: (cls.__module__ != "lambda_kit.exceptions", cls.__name__))

    lines = ["```text", "LambdaKitError"]

    def walk(parent: type, prefix: str) -> None:
        kids = children(parent)
        for index, cls in enumerate(kids):
            last = index == len(kids) - 1
            extra = [base.__name__ for base in cls.__bases__[1:] if base not in ours]
            label = cls.__name__ + (f" ({', '.join(extra)})" if extra else "")
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}")
            walk(cls, prefix + ("    " if last else "│   "))

    walk(LambdaKitError, "")
    lines += ["```", "", "| error | module | what it means |", "| --- | --- | --- |"]
    ordered: list[type] = []

    def collect(parent: type) -> None:
        for cls in children(parent):
            ordered.append(cls)
            collect(cls)

    ordered.append(LambdaKitError)
    collect(LambdaKitError)
    for cls in ordered:
        lines.append(f"| `{cls.__name__}` | `{cls.__module__}` | {_summary(cls)} |")
    return "\n".join(lines)


# -- the variables -----------------------------------------------------------------------


def _source_files() -> list[Path]:
    files: list[Path] = []
    for package in PACKAGES:
        files += sorted(path for path in (ROOT / package).rglob("*.py") if "__pycache__" not in path.parts)
    return files


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _owner(tree: ast.Module, node: ast.AST, module: str) -> str:
    """Who takes the setting: ``Session`` for a class's method (a private base's public
    subclasses, ``Secret, Parameter``), else the module's function (``aws.default_config()``)."""
    for cls in (item for item in tree.body if isinstance(item, ast.ClassDef)):
        if cls.lineno <= getattr(node, "lineno", 0) <= (cls.end_lineno or 0):
            if not cls.name.startswith("_"):
                return cls.name
            subclasses = [
                item.name
                for item in tree.body
                if isinstance(item, ast.ClassDef)
                and any(isinstance(base, ast.Name) and base.id == cls.name for base in item.bases)
            ]
            return ", ".join(subclasses) or cls.name
    for function in (item for item in tree.body if isinstance(item, ast.FunctionDef)):
        if function.lineno <= getattr(node, "lineno", 0) <= (function.end_lineno or 0):
            return f"{module.rpartition('.')[2]}.{function.name}()"
    return module


def _sets(owner: str, argument: str | None) -> str:
    if argument is None:
        return f"`{owner}`"
    return ", ".join(f"`{name}({argument}=)`" for name in owner.split(", "))


def _default(node: ast.expr, namespace: dict[str, Any], source: str) -> str:
    if isinstance(node, ast.Constant):
        return "none" if node.value is None else f"`{node.value!r}`".replace("'", "")
    if isinstance(node, ast.Name) and node.id in namespace:
        value = namespace[node.id]
        return f"`{value!r}`".replace("'", "")
    return f"`{ast.get_source_segment(source, node)}`"


def _valid(node: ast.expr, namespace: dict[str, Any], source: str) -> str:
    try:
        check = eval(compile(ast.Expression(node), "<check>", "eval"), namespace)  # noqa: S307 - our own source
    except Exception:  # a plain parser function, not a Check
        return "see its page"
    return str(getattr(check, "valid", "see its page"))


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _resolved(node: ast.Call, tree: ast.Module, module: str, source: str, config: Any) -> dict[str, str]:
    """A ``resolve("<setting>", explicit, default, check, ...)`` call of ``lambda_kit._config``."""
    namespace = {**vars(config), **vars(importlib.import_module(module))}
    keywords = {keyword.arg: keyword.value for keyword in node.keywords}
    fallbacks = keywords.get("fallbacks")
    valid = _text(keywords.get("valid"))
    return {
        "variable": config.PREFIX + str(_text(node.args[0])).upper(),
        "module": module,
        "setting": _sets(_owner(tree, node, module), _text(keywords.get("argument"))),
        "default": _default(node.args[2], namespace, source),
        "accepts": valid if valid is not None else _valid(node.args[3], namespace, source),
        "then": ", ".join(f"`{item}`" for item in ast.literal_eval(fallbacks)) if fallbacks else "",
    }


def _metrics_setting(node: ast.Call, tree: ast.Module, module: str, config: Any) -> dict[str, str]:
    """A ``_from_environment("<setting>", "<argument>", (peers...), check)`` call of metrics."""
    return {
        "variable": config.PREFIX + str(_text(node.args[0])).upper(),
        "module": module,
        "setting": _sets(_owner(tree, node, module), _text(node.args[1])),
        "default": "see its page",
        "accepts": "see its page",
        "then": ", ".join(f"`{item}`" for item in ast.literal_eval(node.args[2])),
    }


@functools.cache
def variables() -> list[dict[str, str]]:
    """Every ``LAMBDA_KIT_*`` variable the code reads, found in its source."""
    config = importlib.import_module("lambda_kit._config")
    rows: list[dict[str, str]] = []
    for path in _source_files():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        module = _module_name(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args or _text(node.args[0]) is None:
                continue
            name, first = _call_name(node), str(_text(node.args[0]))
            if name == "resolve" and module.startswith("lambda_kit.") and len(node.args) >= 4:
                rows.append(_resolved(node, tree, module, source, config))
            elif name == "_from_environment" and len(node.args) >= 3:
                rows.append(_metrics_setting(node, tree, module, config))
            elif name in ("get", "getenv", "pop") and re.fullmatch(r"LAMBDA_KIT_[A-Z0-9_]+", first):
                does, default, accepts = DIRECT_VARIABLES.get(first, ("", "", ""))
                rows.append(
                    {"variable": first, "module": module, "setting": does, "default": default}
                    | {"accepts": accepts, "then": ""}
                )
    rows.sort(key=lambda row: (row["module"].startswith("lambda_kit_dev"), row["variable"]))
    return rows


def variables_section() -> str:
    lines = [
        "| variable | sets | default | accepts | then read | see |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in variables():
        page = PAGES.get(row["module"], "emulator.md")
        if not (DOCS / page).exists():  # a page still to be written
            page = "emulator.md"
        lines.append(
            f"| `{row['variable']}` | {row['setting']} | {row['default']} | {row['accepts']} "
            f"| {row['then'] or '-'} | [{page.removesuffix('.md')}]({page}) |"
        )
    return "\n".join(lines)


# -- inline files and generated sections -------------------------------------------------

GENERATED = {"errors": error_section, "variables": variables_section}
_SECTION = re.compile(r"(<!-- generated: (\w+)[^>]*-->\n)(.*?\n)?(<!-- end generated: \2 -->)", re.DOTALL)
_FILE = re.compile(r"(<!-- file: (\S+) -->\n```(\w+)\n)(.*?)(```)", re.DOTALL)


def render(text: str) -> str:
    """The page as the code says it should be: generated sections and inline files refreshed."""

    def section(match: re.Match[str]) -> str:
        return match.group(1) + GENERATED[match.group(2)]() + "\n" + match.group(4)

    def inline(match: re.Match[str]) -> str:
        content = (ROOT / match.group(2)).read_text(encoding="utf-8")
        return match.group(1) + content + match.group(5)

    return _FILE.sub(inline, _SECTION.sub(section, text))


def pages() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("page", pages(), ids=lambda path: path.name)
def test_generated_sections_and_inline_files_match_the_code(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert render(text) == text, (
        f"{page.name} disagrees with the code; write it again with: .venv/bin/python tests/test_docs.py"
    )


def test_the_reference_is_generated_where_it_is_documented() -> None:
    configuration = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert "<!-- generated: errors" in configuration
    assert "<!-- generated: variables" in configuration
    names = {row["variable"] for row in variables()}
    # what each module reads: the scan must find all of them, or the table silently shrinks
    assert {
        "LAMBDA_KIT_SECRETS_TTL",
        "LAMBDA_KIT_SERVICE_NAME",
        "LAMBDA_KIT_HTTP_TIMEOUT",
        "LAMBDA_KIT_AWS_READ_TIMEOUT",
        "LAMBDA_KIT_PROTOBUF_GZIP",
        "LAMBDA_KIT_RUNTIME_CACHE",
    } <= names
    assert len(error_classes()) >= 31
    for cls in error_classes():
        assert f"`{cls.__name__}`" in configuration


def test_every_variable_read_directly_is_described() -> None:
    for row in variables():
        assert row["setting"], f"{row['variable']} ({row['module']}): add it to DIRECT_VARIABLES"


def test_no_page_names_a_variable_the_code_does_not_read() -> None:
    known = {row["variable"] for row in variables()}
    prefixes = {"LAMBDA_KIT_HTTP_", "LAMBDA_KIT_PROTOBUF_", "LAMBDA_KIT_SECRETS_", "LAMBDA_KIT_AWS_"}
    for page in pages():
        for name in re.findall(r"\bLAMBDA_KIT_[A-Z0-9_]*[A-Z0-9]\b_?\*?", page.read_text(encoding="utf-8")):
            name = name.rstrip("*")
            if name.endswith("_"):  # a family: LAMBDA_KIT_HTTP_*
                assert name in prefixes or any(known_name.startswith(name) for known_name in known), (
                    page,
                    name,
                )
            else:
                assert name in known, f"{page.name} names {name}, which the code does not read"


def test_no_snippet_lines_are_left() -> None:
    for page in pages():
        assert "--8<--" not in page.read_text(encoding="utf-8"), (
            f"{page.name}: a snippet line reads as text on the repository host; inline the file "
            "after a <!-- file: PATH --> comment instead"
        )


# -- imports in examples -----------------------------------------------------------------


@functools.cache
def _exported_names() -> dict[str, str]:
    """Every public name of lambda-kit's modules, to the module that exports it."""
    names: dict[str, str] = {}
    for path in _source_files():
        module = _module_name(path).removesuffix(".__init__")
        if any(part.startswith("_") for part in module.split(".")):
            continue
        try:
            exported = getattr(importlib.import_module(module), "__all__", ())
        except ImportError:  # pragma: no cover - an optional dependency missing
            continue
        for name in exported:
            if name not in names or module.startswith(names[name] + "."):  # the most specific module
                names[name] = module
    return names


def _python_blocks(text: str) -> list[tuple[int, str]]:
    blocks = []
    for match in re.finditer(r"^```(?:python|py)\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        line = text.count("\n", 0, match.start()) + 1
        body = match.group(1)
        if body.lstrip().startswith(">>>"):
            body = "\n".join(
                row[4:]
                for row in body.splitlines()
                if row.startswith((">>> ", "... ")) or row in (">>>", "...")
            )
        blocks.append((line, body))
    return blocks


def _unbound_names(source: str) -> set[str]:
    tree = ast.parse(source)
    bound = set(dir(builtins))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return used - bound


@pytest.mark.parametrize("page", pages(), ids=lambda path: path.name)
def test_every_example_imports_the_lambda_kit_names_it_uses(page: Path) -> None:
    exported = _exported_names()
    missing = []
    for line, block in _python_blocks(page.read_text(encoding="utf-8")):
        try:
            unbound = _unbound_names(block)
        except SyntaxError as error:
            missing.append(f"line {line}: not valid Python ({error.msg})")
            continue
        for name in sorted(unbound & exported.keys()):
            missing.append(f"line {line}: {name} is used without `from {exported[name]} import {name}`")
    assert not missing, f"{page.name}:\n" + "\n".join(missing)


def main() -> None:
    """Write the generated sections and inline files of every page again."""
    for page in pages():
        text = page.read_text(encoding="utf-8")
        rendered = render(text)
        if rendered != text:
            page.write_text(rendered, encoding="utf-8")
            print(f"wrote {page.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
