"""lambda_kit.exceptions: one root, context as attributes, plain messages."""

from __future__ import annotations

import pickle

import pytest

from lambda_kit.exceptions import (
    ConfigurationError,
    LambdaKitError,
    LifecycleHookError,
)
from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError

ALL_ERRORS = [ConfigurationError, EmulatorError, HandlerNotReadyError, LambdaKitError, LifecycleHookError]


@pytest.mark.parametrize("error_type", ALL_ERRORS)
def test_every_error_derives_from_the_root(error_type: type[LambdaKitError]) -> None:
    assert issubclass(error_type, LambdaKitError)
    assert issubclass(error_type, Exception)
    assert error_type.__name__.endswith("Error")


@pytest.mark.parametrize("error_type", ALL_ERRORS)
def test_one_except_clause_catches_every_error(error_type: type[LambdaKitError]) -> None:
    with pytest.raises(LambdaKitError) as info:
        raise error_type("boom", code=7)
    assert type(info.value) is error_type
    assert info.value.context == {"code": 7}


def test_configuration_error_is_also_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        raise ConfigurationError("timeout must be > 0", setting="timeout", value=-1)


@pytest.mark.parametrize("error_type", [EmulatorError, HandlerNotReadyError, LifecycleHookError])
def test_only_configuration_error_is_a_value_error(error_type: type[LambdaKitError]) -> None:
    assert not issubclass(error_type, ValueError)


def test_handler_not_ready_is_an_emulator_error() -> None:
    assert issubclass(HandlerNotReadyError, EmulatorError)
    assert not issubclass(LifecycleHookError, EmulatorError)
    assert not issubclass(ConfigurationError, EmulatorError)


def test_context_is_kept_as_a_dict_and_as_attributes() -> None:
    error = ConfigurationError("Invalid ttl", setting="ttl", variable="LAMBDA_KIT_TTL", value="abc")

    assert error.context == {"setting": "ttl", "variable": "LAMBDA_KIT_TTL", "value": "abc"}
    assert error.setting == "ttl"  # type: ignore[attr-defined]
    assert error.variable == "LAMBDA_KIT_TTL"  # type: ignore[attr-defined]
    assert error.value == "abc"  # type: ignore[attr-defined]
    assert error.message == "Invalid ttl"


def test_context_defaults_to_empty() -> None:
    error = EmulatorError("closed")
    assert error.context == {}
    assert not hasattr(error, "setting")


def test_context_is_per_instance() -> None:
    first = LambdaKitError("a", name="first")
    second = LambdaKitError("b")
    assert first.context == {"name": "first"}
    assert second.context == {}
    assert not hasattr(second, "name")


def test_str_is_the_message_alone() -> None:
    error = LifecycleHookError("2 of 3 hooks raised", phase="after_restore", failures=2)
    assert str(error) == "2 of 3 hooks raised"
    assert error.args == ("2 of 3 hooks raised",)


@pytest.mark.parametrize("error_type", ALL_ERRORS)
def test_repr_names_the_class_and_the_message(error_type: type[LambdaKitError]) -> None:
    error = error_type("it's broken", detail=1)
    assert repr(error) == f'{error_type.__name__}("it\'s broken")'


def test_repr_does_not_include_context_values() -> None:
    error = ConfigurationError("Invalid secret id", setting="secret_id", value="s3cr3t")
    assert "s3cr3t" not in repr(error)
    assert "s3cr3t" not in str(error)


def test_errors_survive_a_pickle_round_trip() -> None:
    # Errors cross process boundaries (multiprocessing, the emulator's children).
    error = ConfigurationError("Invalid ttl", setting="ttl", value=-1)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301  # our own bytes
    assert type(copy) is ConfigurationError
    assert str(copy) == "Invalid ttl"
    assert copy.context == {"setting": "ttl", "value": -1}
    assert copy.setting == "ttl"


def test_context_keys_never_shadow_the_exception_itself() -> None:
    from lambda_kit.exceptions import LambdaKitError

    error = LambdaKitError("boom", context="orders", args=5, message="other", code="X")
    assert error.context == {"context": "orders", "args": 5, "message": "other", "code": "X"}
    assert error.args == ("boom",)
    assert error.message == "boom"
    assert error.code == "X"  # type: ignore[attr-defined]


def _tree(root: type, classes: list[type], prefix: str = "") -> list[str]:
    kids = sorted(
        (c for c in classes if next((b for b in c.__mro__[1:] if b in classes), None) is root),
        key=lambda c: c.__name__,
    )
    lines = []
    for index, kid in enumerate(kids):
        last = index == len(kids) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{kid.__name__}")
        lines.extend(_tree(kid, classes, prefix + ("    " if last else "│   ")))
    return lines


def test_docstring_tree_and_all_match_the_real_hierarchy() -> None:
    import lambda_kit.exceptions as module
    from lambda_kit.exceptions import LambdaKitError

    classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, LambdaKitError)]
    assert sorted(module.__all__) == sorted(c.__name__ for c in classes)
    import re

    section = (module.__doc__ or "").split("The hierarchy::")[1].split("Example:")[0]
    drawn = [
        match.group(1)
        for line in section.splitlines()
        if (match := re.match(r"^\s*([│├└─ ]*\w+)", line)) is not None
    ]
    assert drawn == ["LambdaKitError", *_tree(LambdaKitError, classes)]
