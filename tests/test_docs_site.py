"""The docs site as a reader sees it: built with --strict, then every page opened in headless Chromium.

The site is built once per session with Zensical (what ``make docs`` runs) from a copy
of ``docs/`` and ``mkdocs.yml`` in a temporary directory (Zensical keeps a build cache
beside its configuration), served on 127.0.0.1, and each page of the navigation is
opened through the ``page`` fixture: it renders without a JavaScript error or a request
off the machine, shows the whole navigation, its title, and one code block per fenced
block of its Markdown.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mkdocs.yml"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from playwright.sync_api import Page


def _nav() -> list[tuple[str, str]]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return [next(iter(entry.items())) for entry in config["nav"]]


def _zensical() -> str:
    """This interpreter's Zensical, else the main virtual environment's (Zensical needs 3.11+)."""
    for candidate in (Path(sys.executable).parent / "zensical", ROOT / ".venv" / "bin" / "zensical"):
        if candidate.exists():
            return str(candidate)
    pytest.fail("no zensical: install the dev extra in .venv (make docs does)")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's signature
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site's base URL on 127.0.0.1."""
    project = tmp_path_factory.mktemp("site-project")
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(CONFIG, project / "mkdocs.yml")
    done = subprocess.run(
        [_zensical(), "build", "--strict", "--clean"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert done.returncode == 0, plain[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(project / ".site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _fences(markdown: str) -> int:
    """Fenced code blocks of a page: their opening and closing lines, halved (indented ones too)."""
    return len(re.findall(r"^ *```", markdown, re.MULTILINE)) // 2


# What the page shows, read in one round trip to the browser.
_SHOWN = """() => ({
    h1: document.querySelector("article h1")?.innerText ?? "",
    nav: [...document.querySelectorAll("nav.md-nav--primary .md-nav__link")].map(link => link.innerText),
    blocks: document.querySelectorAll("article pre").length,
    text: document.querySelector("article")?.innerText ?? "",
})"""


def _check_page(site: str, page: Page, source: str) -> list[str]:
    """What is wrong with one page as the browser shows it (nothing, when it is right)."""
    markdown = (ROOT / "docs" / source).read_text(encoding="utf-8")
    path = "" if source == "index.md" else source.removesuffix(".md") + "/"
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    errors.clear()
    response = page.goto(site + path, wait_until="load")
    problems = [f"status {response.status if response else None}"] if not (response and response.ok) else []
    problems += errors
    shown = page.evaluate(_SHOWN)
    heading = re.search(r"^# (.+)$", markdown, re.MULTILINE)
    h1 = shown["h1"].replace("¶", "").strip()
    if heading is None or h1 != heading.group(1).replace("`", "").strip():
        problems.append(f"title {h1!r}")
    missing = sorted({name for name, _ in _nav()} - {text.strip() for text in shown["nav"]})
    if missing:
        problems.append(f"navigation lacks {missing}")
    if shown["blocks"] != _fences(markdown):
        problems.append(f"{shown['blocks']} code blocks for {_fences(markdown)} fenced blocks")
    if "--8<--" in shown["text"]:
        problems.append("a snippet line shows as text")
    return [f"{source}: {problem}" for problem in problems]


def test_every_page_renders_with_navigation_and_code(site: str, page: Page) -> None:
    problems = [problem for _, source in _nav() for problem in _check_page(site, page, source)]
    assert problems == []


def test_nothing_fails_once_the_page_is_idle(site: str, page: Page) -> None:
    """What loads after the page (scripts' later requests, the search index) loads without an error."""
    page.goto(site, wait_until="networkidle")
    index = page.evaluate("fetch('search.json').then(response => response.json())")
    titles = {item["title"] for item in index["items"]}
    assert {
        "Getting started: from nothing to a tested, benched function",
        "Migrating from Powertools for AWS Lambda (Python)",
    } <= titles
    assert any("refetch_on" in item["text"] for item in index["items"])
    assert page.errors == []  # type: ignore[attr-defined]


def test_every_page_is_in_the_navigation() -> None:
    listed = {source for _, source in _nav()}
    assert {path.name for path in (ROOT / "docs").glob("*.md")} <= listed
