"""Shared fixtures: a clean environment for every test, one AWS stand-in and one headless browser
per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambda_kit_dev.stand_ins import AwsStandIn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# lambda-kit's own pytest plugin, as users get it through its entry point (which
# pyproject's addopts turns off here so that coverage sees its import-time lines).
pytest_plugins = ["lambda_kit_dev.pytest_plugin"]

HANDLERS = Path(__file__).parent / "functions"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees LAMBDA_KIT_* or AWS_* variables it did not set itself."""
    for name in list(os.environ):
        if name.startswith(("LAMBDA_KIT_", "AWS_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsStandIn]:
    """A moto server on 127.0.0.1, shared by the session (tests reset what they need)."""
    with AwsStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def handlers() -> Path:
    """The directory of the function modules (handlers) the emulator tests run."""
    return HANDLERS


# Chromium as the machine's browser tests need it (Debian's package; .ci/run installs it):
# headless, and without the background connections a closed network refuses.
CHROMIUM = os.environ.get("LAMBDA_KIT_TEST_CHROMIUM", "/usr/bin/chromium")
_CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A real headless Chromium (Playwright drives it), shared by a test module.

    Per module, not per session: while Playwright's synchronous API is running, the
    main thread has an asyncio loop marked as running, and every later test that runs
    a loop of its own (an async core, say) would fail. Fails, never skips, when
    Chromium is missing: a browser test that does not run proves nothing.
    """
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium, as .ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(_CHROMIUM_ARGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that records its JavaScript errors and console errors.

    ``page.errors`` (a list of str) holds every uncaught exception and ``console.error``
    message; a test asserts it is empty once the page has rendered. The page can reach
    loopback only: any other request is aborted and recorded as an error too.
    """
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.errors = errors  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))

    def _route(route: object) -> None:
        from urllib.parse import urlsplit

        url = route.request.url  # type: ignore[attr-defined]
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if local or parts.scheme in ("file", "data", "about", "blob"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            errors.append(f"network: blocked {url}")
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", _route)
    try:
        yield page
    finally:
        context.close()
