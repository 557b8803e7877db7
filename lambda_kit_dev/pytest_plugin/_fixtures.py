"""The fixtures of lambda-kit's pytest plugin (internal; registered by the plugin).

This module imports only pytest and the standard library: each fixture imports what
it needs (lambda_kit.testing, boto3, moto's server, the emulator) when a test uses it.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType
    from typing import Any

    from lambda_kit.testing import CapturedMetrics, FakeContext
    from lambda_kit_dev.emulator import Emulator
    from lambda_kit_dev.stand_ins import AwsStandIn
    from lambda_kit_dev.stand_ins._seed import SeedSource

__all__ = [
    "lambda_aws",
    "lambda_aws_seed",
    "lambda_aws_session",
    "lambda_context",
    "lambda_emulator",
    "lambda_events",
    "lambda_import",
    "lambda_metrics",
]

# Variables that could send a test's AWS SDK calls somewhere other than the stand-in, or
# sign them with real credentials: unset while lambda_aws is in use (any
# AWS_ENDPOINT_URL_<SERVICE> too, which would win over AWS_ENDPOINT_URL).
_UNSET_FOR_AWS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


def _ini_path(config: pytest.Config, name: str) -> str | None:
    """An ini setting's path, relative to the ini file (or the root directory); None if unset."""
    value = str(config.getini(name) or "").strip()
    if not value:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return os.path.join(base, os.path.expanduser(value))


@pytest.fixture
def lambda_context() -> FakeContext:
    """A Lambda context for a direct handler call: a fresh request id, 3 s to its deadline.

    Build a :class:`~lambda_kit.testing.FakeContext` yourself for other settings.
    """
    from lambda_kit.testing import FakeContext

    return FakeContext()


@pytest.fixture(scope="session")
def lambda_events() -> ModuleType:
    """The event factories, :mod:`lambda_kit.testing.events` (``lambda_events.sqs([...])``...)."""
    from lambda_kit.testing import events

    return events


@pytest.fixture
def lambda_metrics() -> Iterator[CapturedMetrics]:
    """The EMF lines every ``Metrics`` writes during the test, parsed (nothing reaches stdout)."""
    from lambda_kit.testing import capture_metrics

    with capture_metrics() as captured:
        yield captured


@pytest.fixture(scope="session")
def lambda_aws_seed(pytestconfig: pytest.Config) -> SeedSource:
    """What the ``lambda_aws`` and ``lambda_aws_session`` stand-ins are seeded with.

    The file the ``lambda_aws_seed`` ini setting names (relative to the ini file), or
    nothing. Override this fixture in a ``conftest.py`` to seed from code: return a
    mapping (``{"secrets": {...}, "parameters": {...}}``) or a file's path. Keep it
    session-scoped for ``lambda_aws_session``; ``lambda_aws`` reads it for each test.
    """
    return _ini_path(pytestconfig, "lambda_aws_seed")


class _PerTestServer:
    """The server behind ``lambda_aws``: one process per session, reset between tests."""

    def __init__(self) -> None:
        self.stand_in: AwsStandIn | None = None
        self._lock = threading.Lock()

    def acquire(self, seed: SeedSource) -> AwsStandIn:
        from lambda_kit_dev.stand_ins import AwsStandIn
        from lambda_kit_dev.stand_ins._seed import load_seed

        with self._lock:
            checked = load_seed(seed)
            if self.stand_in is None:
                self.stand_in = AwsStandIn()
            stand_in = self.stand_in
            stand_in.seed = checked
            if stand_in.running:
                stand_in.reset()  # forgets the last test's resources, then seeds again
            else:
                stand_in.start()  # empty, then seeded
            return stand_in

    def close(self) -> None:
        if self.stand_in is not None:
            self.stand_in.stop()


@pytest.fixture(scope="session")
def _lambda_kit_aws_server() -> Iterator[_PerTestServer]:
    server = _PerTestServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def lambda_aws(
    _lambda_kit_aws_server: _PerTestServer, lambda_aws_seed: SeedSource, monkeypatch: pytest.MonkeyPatch
) -> AwsStandIn:
    """An AWS stand-in (moto's server on 127.0.0.1) for this test, seeded with ``lambda_aws_seed``.

    Each test starts from the seed alone: what an earlier test created is gone. For
    the test's duration, the environment points every AWS SDK at it (endpoint,
    dummy credentials, region) and nowhere else: the variables that could reach an
    account (profiles, config files, other endpoints) are unset. One server process
    serves the whole session; it is separate from ``lambda_aws_session``, from any
    :class:`~lambda_kit_dev.stand_ins.AwsStandIn` you create, and from
    ``moto.mock_aws()``.
    """
    stand_in = _lambda_kit_aws_server.acquire(lambda_aws_seed)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in _UNSET_FOR_AWS:
            monkeypatch.delenv(name)
    for name, value in stand_in.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return stand_in


@pytest.fixture(scope="session")
def lambda_aws_session(lambda_aws_seed: SeedSource) -> Iterator[AwsStandIn]:
    """An AWS stand-in shared by the whole session, seeded once with ``lambda_aws_seed``.

    Tests share its state (reset it with ``.reset()``, which seeds it again). It leaves
    the environment alone: pass it to an emulator (``aws=``), make clients with
    ``.client(service)``, or set ``.environ()`` with ``monkeypatch.setenv``.
    """
    from lambda_kit_dev.stand_ins import AwsStandIn

    with AwsStandIn(seed=lambda_aws_seed) as stand_in:
        yield stand_in


def _fresh_environment() -> None:
    """A new execution environment for lambda-kit: no invocations, hooks, shared clients."""
    from lambda_kit import _secrets_backends, aws
    from lambda_kit.testing import reset_lifecycle

    reset_lifecycle()
    _secrets_backends._reset_shared_for_tests()
    aws.clear()


def _user_code(module: ModuleType, root: str) -> bool:
    """Whether ``module`` is the project's code under ``root`` (not an installed package)."""
    found = getattr(module, "__file__", None)
    if not isinstance(found, str) or not found:
        return False
    path = os.path.abspath(found)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    if any(path.startswith(prefix + os.sep) for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}):
        return False
    return path.startswith(root.rstrip(os.sep) + os.sep)


@pytest.fixture
def lambda_import(
    lambda_aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., ModuleType]]:
    """Import a handler module as Lambda's INIT would: fresh, against the ``lambda_aws`` stand-in.

    ``lambda_import("app")`` imports ``app`` anew (a cold start): lambda-kit's
    lifecycle, shared secret backends and client cache start empty, and a ``Secret``
    prefetched at module scope is fetched from the stand-in. ``path=`` puts the
    module's directory first on ``sys.path`` for the test. When the test ends, the
    module and the project modules its INIT imported are forgotten, so the next
    import is a cold start again.
    """
    imported: list[tuple[str, set[str], str]] = []  # (name, modules its INIT added, code root)

    def load(name: str, *, path: str | os.PathLike[str] | None = None) -> ModuleType:
        root = os.path.abspath(os.fspath(path)) if path is not None else ""
        if root:
            monkeypatch.syspath_prepend(root)
        for key in [key for key in sys.modules if key == name or key.startswith(name + ".")]:
            del sys.modules[key]  # imported before (by a test module, say): INIT must run again
        _fresh_environment()
        before = set(sys.modules)
        try:
            module = importlib.import_module(name)
        except BaseException:  # INIT failed: what it imported so far is forgotten all the same
            imported.append((name, set(sys.modules) - before, root))
            raise
        imported.append((name, set(sys.modules) - before, root or _code_root(module)))
        return module

    yield load
    for name, added, root in imported:
        for key in added:
            module = sys.modules.get(key)
            if module is not None and (key == name or (root and _user_code(module, root))):
                del sys.modules[key]
    _fresh_environment()


def _code_root(module: ModuleType) -> str:
    """The directory holding ``module``'s top-level package (or the module itself)."""
    path = os.path.dirname(os.path.abspath(module.__file__ or "."))
    for _ in range(module.__name__.count(".") + (1 if hasattr(module, "__path__") else 0)):
        path = os.path.dirname(path)
    return path


@pytest.fixture
def lambda_emulator(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config
) -> Iterator[Callable[..., Emulator]]:
    """Start an :class:`~lambda_kit_dev.emulator.Emulator` for a handler: ``lambda_emulator("app.handler")``.

    The task root is the ``lambda_task_root`` ini setting (relative to the ini file),
    or the root directory; ``task_root=`` overrides it. With ``aws=True`` (the
    default) the function talks to the ``lambda_aws`` stand-in; pass ``aws=False``
    for none, or a stand-in of your own. Other keyword arguments go to the
    Emulator (``memory_mb``, ``env``, ``python``, ``layers``...). Every emulator
    started is closed when the test ends.
    """
    started: list[Emulator] = []

    def start(
        handler: str, *, task_root: str | os.PathLike[str] | None = None, aws: Any = True, **settings: Any
    ) -> Emulator:
        from lambda_kit_dev.emulator import Emulator

        if task_root is None:
            task_root = _ini_path(pytestconfig, "lambda_task_root") or str(pytestconfig.rootpath)
        stand_in = request.getfixturevalue("lambda_aws") if aws is True else aws
        emulator = Emulator(handler, task_root=task_root, aws=stand_in or False, **settings)
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in started:
            emulator.close()
