"""lambda_kit.secrets: settings, custom backends, and the module's public names and imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
from secrets_helpers import (
    FakeClock,
    MemoryBackend,
    chain,
)

from lambda_kit import aws, secrets
from lambda_kit.exceptions import ConfigurationError, SecretError
from lambda_kit.secrets import Parameter, SdkBackend, Secret


def test_a_custom_backends_own_errors_become_secret_errors(clock: FakeClock) -> None:
    backend = MemoryBackend({"db": "memory-value"})
    secret = Secret("db", backend=backend, ttl=1, max_stale=1)
    assert secret.value == "memory-value"
    backend.error = KeyError("memory-value")
    clock.advance(2.5)
    with pytest.raises(SecretError) as info:
        secret.value  # noqa: B018
    assert info.value.context["code"] == "KeyError"
    assert "KeyError" in str(info.value)
    formatted = "".join(traceback.format_exception(info.value))
    assert "memory-value" not in formatted  # KeyError('memory-value') is never chained
    assert [type(error) for error in chain(info.value)] == [SecretError]


def test_an_empty_response_is_an_error() -> None:
    class Empty:
        def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
            return {"VersionId": "x"}

        def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
            return {"Parameter": {"Version": 1}}

    with pytest.raises(SecretError, match="neither SecretString nor SecretBinary"):
        Secret("x", client=Empty()).prefetch()
    with pytest.raises(SecretError, match="no Value"):
        Parameter("x", client=Empty()).prefetch()


def test_settings_come_from_arguments_then_environment(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    backend = MemoryBackend({"db": "x"})
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_TTL", "20")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_MAX_STALE", "0")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_MIN_REFRESH_INTERVAL", "0")
    secret = Secret("db", backend=backend)
    assert (secret._ttl, secret._max_stale, secret._min_interval) == (20.0, 0.0, 0.0)
    explicit = Secret("db", backend=backend, ttl=5, max_stale=7, min_refresh_interval=2)
    assert (explicit._ttl, explicit._max_stale, explicit._min_interval) == (5.0, 7.0, 2.0)
    monkeypatch.delenv("LAMBDA_KIT_SECRETS_TTL")
    assert Secret("db", backend=backend)._ttl == secrets.DEFAULT_TTL


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": float("inf")}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"max_stale": -1}, "max_stale"),
        ({"min_refresh_interval": float("nan")}, "min_refresh_interval"),
        ({"backend": "carrier-pigeon"}, "backend"),
        ({"version_stage": ""}, "version_stage"),
        ({"version_id": "short"}, "version_id"),
        ({"client": object(), "backend": MemoryBackend({})}, "either client"),
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Secret("db", **kwargs)


def test_invalid_names_and_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="secret_id"):
        Secret("")
    with pytest.raises(ConfigurationError, match="name"):
        Parameter("x" * 2049)
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_BACKEND", "nope")
    with pytest.raises(ConfigurationError, match="LAMBDA_KIT_SECRETS_BACKEND"):
        Secret("db")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_BACKEND", " SDK ")
    assert Secret("db")._backend == "sdk"


def test_unknown_module_attribute() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        secrets.no_such_thing  # noqa: B018
    assert secrets.SdkBackend is SdkBackend


# -- SdkBackend's clients ---------------------------------------------------------------


def test_sdk_backend_clients_come_from_its_own_client_cache_with_its_own_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("LAMBDA_KIT_AWS_READ_TIMEOUT", "25")  # aws.client's default, not the backend's
    default, quick = SdkBackend(), SdkBackend(connect_timeout=0.5, read_timeout=2)
    try:
        made = default.client("secretsmanager")
        config = made.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1.0, 3.0)
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}  # one attempt, no sleeps
        assert config.tcp_keepalive is True
        assert made.meta.region_name == "eu-west-1"
        assert default.client("secretsmanager") is made
        assert isinstance(default._cache, aws.ClientCache)
        assert default._cache is not quick._cache
        other = quick.client("secretsmanager").meta.config
        assert (other.connect_timeout, other.read_timeout) == (0.5, 2.0)
        assert repr(quick) == "SdkBackend(created clients: secretsmanager)"
        assert repr(SdkBackend()) == "SdkBackend(created clients: none)"
    finally:
        default._cache.clear()
        quick._cache.clear()


def test_sdk_backend_uses_the_clients_it_is_given() -> None:
    given = object()
    backend = SdkBackend(secretsmanager=given)
    assert backend.client("secretsmanager") is given
    assert len(backend._cache) == 0


# -- the module: public names, lazy loading, imports that run one way -------------------


def test_all_is_pinned() -> None:
    assert secrets.__all__ == [
        "Backend",
        "ExtensionBackend",
        "Parameter",
        "SdkBackend",
        "Secret",
        "SecretError",
    ]
    for name in secrets.__all__:
        assert getattr(secrets, name) is not None
        assert name in dir(secrets)


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from lambda_kit import _secrets_backends, _secrets_types, exceptions

    assert secrets.Backend is _secrets_types.Backend
    assert secrets.SdkBackend is _secrets_backends.SdkBackend
    assert secrets.ExtensionBackend is _secrets_backends.ExtensionBackend
    assert secrets.SecretError is exceptions.SecretError


def test_backend_is_one_real_protocol_that_every_backend_satisfies() -> None:
    assert getattr(secrets.Backend, "_is_protocol", False)
    assert isinstance(MemoryBackend({}), secrets.Backend)
    assert isinstance(SdkBackend(), secrets.Backend)
    assert isinstance(secrets.ExtensionBackend(port=2773, fallback=MemoryBackend({})), secrets.Backend)
    assert not isinstance(object(), secrets.Backend)


def test_backends_load_neither_typing_nor_the_secrets_module() -> None:
    code = (
        "import sys\n"
        "import lambda_kit._secrets_backends\n"
        "loaded = [name for name in ('typing', 'lambda_kit.secrets', 'lambda_kit._secrets_types',\n"
        "          'lambda_kit.lifecycle', 'boto3') if name in sys.modules]\n"
        "assert not loaded, loaded\n"
        "import lambda_kit.secrets\n"
        "assert 'typing' not in sys.modules\n"
        "lambda_kit.secrets.Backend\n"
        "assert 'lambda_kit._secrets_types' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# Each may import (at run time, lazily or not) only modules before it in this list: no
# circle, and the SnapStart machinery (lifecycle) at the bottom.
ONE_WAY = [
    "lambda_kit.lifecycle",
    "lambda_kit.aws",
    "lambda_kit._secrets_types",
    "lambda_kit._secrets_backends",
    "lambda_kit.secrets",
]


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The lambda_kit modules ``path`` imports at run time: anywhere but under ``if TYPE_CHECKING``.

    Imports inside functions count (they run on first use), and so does a string that
    names a module (a lazy-export table). Importing ``lambda_kit.x`` is not counted as
    importing the package ``lambda_kit`` itself.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # from a import b: the module a.b if there is one, else a
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found & modules


def test_imports_run_one_way_from_secrets_down_to_lifecycle() -> None:
    package = Path(secrets.__file__).parent
    paths = {
        ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in package.rglob("*.py")
    }
    graph = {module: runtime_imports(path, set(paths)) - {module} for module, path in paths.items()}
    assert "lambda_kit._secrets_backends" in graph["lambda_kit.secrets"]  # the scan sees lazy imports
    assert "lambda_kit.aws" in graph["lambda_kit._secrets_backends"]

    for index, module in enumerate(ONE_WAY):
        reachable, pending = set(), [module]
        while pending:
            for imported in graph[pending.pop()]:
                if imported not in reachable:
                    reachable.add(imported)
                    pending.append(imported)
        upward = sorted(reachable & set(ONE_WAY[index:]))
        assert not upward, f"{module} reaches {upward}"


# Every numeric setting of Secret and Parameter: (argument, a valid value, its variable,
# an invalid value that is a number).
CACHE_SETTINGS = [
    ("ttl", 60.0, "LAMBDA_KIT_SECRETS_TTL", 0),
    ("max_stale", 0.0, "LAMBDA_KIT_SECRETS_MAX_STALE", -1),
    ("min_refresh_interval", 0.0, "LAMBDA_KIT_SECRETS_MIN_REFRESH_INTERVAL", -0.5),
]
CACHE_NAMES = [setting[0] for setting in CACHE_SETTINGS]


@pytest.mark.parametrize("kind", [Secret, Parameter])
@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CACHE_SETTINGS, ids=CACHE_NAMES)
def test_an_invalid_setting_is_named_by_its_argument(
    kind: type[Secret], argument: str, good: float, variable: str, bad: float
) -> None:
    kind("db", **{argument: good})
    with pytest.raises(ConfigurationError) as caught:
        kind("db", **{argument: bad})

    assert str(caught.value).startswith(f"Invalid {argument}={bad!r}; expected ")
    assert "secrets_" not in str(caught.value)
    assert caught.value.context["argument"] == argument
    assert caught.value.context["value"] == bad


@pytest.mark.parametrize("value", [True, float("nan"), float("inf")], ids=["bool", "nan", "inf"])
@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CACHE_SETTINGS, ids=CACHE_NAMES)
def test_bools_and_non_finite_values_are_refused(
    argument: str, good: float, variable: str, bad: float, value: float
) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}=") as caught:
        Secret("db", **{argument: value})
    assert caught.value.context["argument"] == argument


@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CACHE_SETTINGS, ids=CACHE_NAMES)
def test_an_invalid_variable_is_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, argument: str, good: float, variable: str, bad: float
) -> None:
    monkeypatch.setenv(variable, str(bad))
    with pytest.raises(ConfigurationError, match=f"^Invalid {variable}=") as caught:
        Parameter("/p")
    assert caught.value.context["variable"] == variable
    assert caught.value.context["argument"] == argument


def test_an_invalid_backend_is_named_by_its_argument() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^Invalid backend='carrier-pigeon'; expected 'sdk'"
    ) as caught:
        Secret("db", backend="carrier-pigeon")
    assert caught.value.context["argument"] == "backend"
    assert caught.value.context["setting"] == "secrets_backend"


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: SdkBackend(connect_timeout=0), "connect_timeout"),
        (lambda: SdkBackend(read_timeout=3600), "read_timeout"),
        (lambda: SdkBackend(read_timeout=True), "read_timeout"),
        (lambda: secrets.ExtensionBackend(port=2773, timeout=60), "timeout"),
        (lambda: secrets.ExtensionBackend(port=0), "port"),
        (lambda: secrets.ExtensionBackend(port=True), "port"),
    ],
    ids=["connect_timeout", "read_timeout", "read_timeout-bool", "timeout", "port", "port-bool"],
)
def test_backend_arguments_are_named_as_typed(make: Any, argument: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}=") as caught:
        make()
    assert caught.value.context["argument"] == argument
