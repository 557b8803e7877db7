"""lambda_kit.metrics: namespace, service and function name from arguments and the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError, InvalidDimensionError, MetricsError
from lambda_kit.metrics import DEFAULT_NAMESPACE, Metrics


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DEFAULT_NAMESPACE),
        ({"POWERTOOLS_METRICS_NAMESPACE": "Pt"}, "Pt"),
        ({"POWERTOOLS_METRICS_NAMESPACE": "Pt", "AWS_EMF_NAMESPACE": "Emf"}, "Emf"),
        ({"AWS_EMF_NAMESPACE": "Emf", "LAMBDA_KIT_METRICS_NAMESPACE": "Lk"}, "Lk"),
        ({"LAMBDA_KIT_METRICS_NAMESPACE": "  "}, DEFAULT_NAMESPACE),
    ],
)
def test_namespace_resolution(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert Metrics().namespace == expected
    assert Metrics(namespace="Explicit").namespace == "Explicit"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"POWERTOOLS_SERVICE_NAME": "pt"}, "pt"),
        ({"POWERTOOLS_SERVICE_NAME": "pt", "AWS_EMF_SERVICE_NAME": "emf"}, "emf"),
        ({"AWS_EMF_SERVICE_NAME": "emf", "LAMBDA_KIT_SERVICE_NAME": "lk"}, "lk"),
    ],
)
def test_service_resolution(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str | None
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    metrics = Metrics(namespace="Shop")
    assert metrics.service == expected
    assert metrics.default_dimensions == ({"service": expected} if expected else {})
    assert Metrics(namespace="Shop", service="explicit").service == "explicit"


@pytest.mark.parametrize(
    "variable",
    ["LAMBDA_KIT_METRICS_NAMESPACE", "AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"],
)
def test_invalid_namespace_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "not valid")
    with pytest.raises(ConfigurationError, match=variable) as info:
        Metrics()
    assert info.value.context["variable"] == variable


@pytest.mark.parametrize(
    ("environ", "attribute", "expected"),
    [
        (
            {"LAMBDA_KIT_METRICS_NAMESPACE": "Shop", "AWS_EMF_NAMESPACE": "bad namespace"},
            "namespace",
            "Shop",
        ),
        (
            {"LAMBDA_KIT_METRICS_NAMESPACE": "Shop", "POWERTOOLS_METRICS_NAMESPACE": "AWS/Nope"},
            "namespace",
            "Shop",
        ),
        ({"AWS_EMF_NAMESPACE": "Emf", "POWERTOOLS_METRICS_NAMESPACE": "bad namespace"}, "namespace", "Emf"),
        ({"LAMBDA_KIT_SERVICE_NAME": "orders", "POWERTOOLS_SERVICE_NAME": "café"}, "service", "orders"),
        ({"LAMBDA_KIT_SERVICE_NAME": "orders", "AWS_EMF_SERVICE_NAME": "x" * 2000}, "service", "orders"),
        ({"AWS_EMF_SERVICE_NAME": "emf", "POWERTOOLS_SERVICE_NAME": "café"}, "service", "emf"),
        (
            {"LAMBDA_KIT_METRICS_FUNCTION_NAME": "fn", "POWERTOOLS_METRICS_FUNCTION_NAME": "fünction"},
            "_function_name",
            "fn",
        ),
    ],
)
def test_an_invalid_lower_priority_variable_is_never_read(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], attribute: str, expected: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert getattr(Metrics(), attribute) == expected


def test_the_variable_used_is_still_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_SERVICE_NAME", "café")
    monkeypatch.setenv("AWS_EMF_SERVICE_NAME", "valid")
    with pytest.raises(ConfigurationError, match="LAMBDA_KIT_SERVICE_NAME") as info:
        Metrics(namespace="Shop")
    assert info.value.context["variable"] == "LAMBDA_KIT_SERVICE_NAME"
    monkeypatch.setenv("LAMBDA_KIT_SERVICE_NAME", "  ")  # blank counts as unset
    monkeypatch.setenv("AWS_EMF_SERVICE_NAME", "sërvice")
    with pytest.raises(ConfigurationError, match="AWS_EMF_SERVICE_NAME"):
        Metrics(namespace="Shop")


def test_invalid_service_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sërvice")
    with pytest.raises(ConfigurationError, match="POWERTOOLS_SERVICE_NAME"):
        Metrics(namespace="Shop")
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    with pytest.raises(InvalidDimensionError):
        Metrics(namespace="Shop", service="")
    with pytest.raises(InvalidDimensionError):
        Metrics(namespace="Shop", function_name="fünction")


def test_repr_names_namespace_and_service() -> None:
    assert repr(Metrics(namespace="Shop", service="orders")) == "Metrics(namespace='Shop', service='orders')"


INIT_WITHOUT_VARIABLES = """
import os, sys
from lambda_kit.metrics import Metrics
Metrics(namespace="Shop", service="orders")
Metrics()
loaded = [name for name in ("lambda_kit._config", "lambda_kit.exceptions") if name in sys.modules]
print(" ".join(loaded) or "-")
os.environ["POWERTOOLS_SERVICE_NAME"] = "orders"
print(Metrics().service, "lambda_kit._config" in sys.modules)
"""


def test_with_no_variable_set_init_never_loads_the_configuration_machinery() -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COV_CORE_", "COVERAGE_", "LAMBDA_KIT_", "AWS_", "POWERTOOLS_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", INIT_WITHOUT_VARIABLES],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["-", "orders True"]  # a variable set: read as before


# Each setting of Metrics read from the environment: (argument, its variables in order).
METRICS_SETTINGS = [
    ("namespace", ["LAMBDA_KIT_METRICS_NAMESPACE", "AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"]),
    ("service", ["LAMBDA_KIT_SERVICE_NAME", "AWS_EMF_SERVICE_NAME", "POWERTOOLS_SERVICE_NAME"]),
    ("function_name", ["LAMBDA_KIT_METRICS_FUNCTION_NAME", "POWERTOOLS_METRICS_FUNCTION_NAME"]),
]


@pytest.mark.parametrize(
    ("argument", "variable"),
    [(argument, variable) for argument, variables in METRICS_SETTINGS for variable in variables],
)
def test_an_invalid_variable_names_the_variable_and_the_argument(
    monkeypatch: pytest.MonkeyPatch, argument: str, variable: str
) -> None:
    monkeypatch.setenv(variable, "AWS/bad namé")
    with pytest.raises(ConfigurationError, match=f"^Invalid {variable}='AWS/bad namé': ") as info:
        Metrics()
    assert info.value.context["variable"] == variable
    assert info.value.context["argument"] == argument


@pytest.mark.parametrize(("argument", "variables"), METRICS_SETTINGS, ids=[s[0] for s in METRICS_SETTINGS])
def test_an_invalid_argument_is_named_in_the_message(argument: str, variables: list[str]) -> None:
    with pytest.raises(MetricsError, match=f"'{argument}'|{argument} "):
        Metrics(**{argument: "AWS/bad namé" if argument == "namespace" else " "})
