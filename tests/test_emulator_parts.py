"""Unit tests of the emulator's parsers, report formatting and child bootstrap."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.emulator import Invocation, Report
from lambda_kit.emulator._environment import (
    _error_document,
    _Pipe,
    interpreter_dir,
    interpreter_version,
    parse_calls,
    parse_importtime,
    peak_rss_mb,
)

SHIM = Path(__file__).parent.parent / "lambda_kit" / "emulator" / "_shim" / "sitecustomize.py"


def _load_shim() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_kit_shim_under_test", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_billed_duration_rounds_up_and_includes_init() -> None:
    assert Report.billed(0.2, None) == 1
    assert Report.billed(15.74, None) == 16
    assert Report.billed(15.0, None) == 15
    assert Report.billed(15.74, 130.49) == 147  # the example line in AWS's documentation
    assert Report.billed(0.0, None) == 1


@given(
    st.floats(min_value=0, max_value=900_000), st.one_of(st.none(), st.floats(min_value=0, max_value=10_000))
)
def test_billed_is_never_less_than_what_ran(duration: float, init: float | None) -> None:
    billed = Report.billed(duration, init)
    assert billed >= duration + (init or 0.0) - 1e-6
    assert billed < duration + (init or 0.0) + 1 + 1e-6 or billed == 1


def test_report_lines_match_aws_format() -> None:
    report = Report("id-1", 15.74, 147, 128, 56, 130.49)
    assert report.lines() == [
        "START RequestId: id-1 Version: $LATEST",
        "END RequestId: id-1",
        "REPORT RequestId: id-1\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tInit Duration: 130.49 ms\t",
    ]
    unknown = Report("id-2", 1.0, 1, 128, None, status="timeout", error_type="Sandbox.Timedout")
    assert unknown.report_line().endswith("Max Memory Used: n/a MB\tStatus: timeout\t")


def test_invocation_helpers() -> None:
    report = Report("id", 1.0, 1, 128, 20)
    invocation = Invocation("id", b'{"a": 1}', "application/json", None, report, output="hello\n")
    assert invocation.ok
    assert not invocation.cold
    assert invocation.json() == {"a": 1}
    assert invocation.log.splitlines() == [
        "START RequestId: id Version: $LATEST",
        "hello",
        "END RequestId: id",
        report.report_line(),
    ]


def test_parse_calls_counts_and_sorts() -> None:
    data = b"ssm.GetParameter\nsecretsmanager.GetSecretValue\nssm.GetParameter\n\n"
    assert parse_calls(data) == {"secretsmanager.GetSecretValue": 1, "ssm.GetParameter": 2}
    assert list(parse_calls(data)) == ["secretsmanager.GetSecretValue", "ssm.GetParameter"]
    assert parse_calls(b"") == {}


def test_parse_importtime_splits_profile_from_output() -> None:
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "hello from init\n"
        "import time:       120 |        120 |   _json\n"
        "import time:       300 |        420 | json\n"
        "import time: garbage\n"
    )
    output, timings = parse_importtime(text)
    assert output == "hello from init\n"
    assert [(t.module, t.self_us, t.cumulative_us, t.depth) for t in timings] == [
        ("_json", 120, 120, 1),
        ("json", 300, 420, 0),
    ]


@given(st.text())
def test_parse_importtime_never_raises_and_keeps_other_lines(text: str) -> None:
    output, timings = parse_importtime(text)
    assert all(not line.startswith("import time:") for line in output.splitlines(keepends=True))
    assert len(timings) <= text.count("import time:")


@given(st.binary())
def test_error_document_always_gives_an_error(body: bytes) -> None:
    document = _error_document(body)
    assert isinstance(document, dict)
    assert "requestId" not in document


def test_error_document_shapes() -> None:
    assert _error_document(b'{"errorType": "X", "errorMessage": "m", "requestId": "r"}') == {
        "errorType": "X",
        "errorMessage": "m",
    }
    assert _error_document(b"[1, 2]")["errorType"] == "Runtime.InvalidError"
    assert _error_document(b"not json") == {"errorType": "Runtime.InvalidError", "errorMessage": "not json"}


def test_peak_rss() -> None:
    own = peak_rss_mb(os.getpid())
    assert own is not None
    assert own > 1
    assert peak_rss_mb(2**22 + 12345) is None  # no such process


class _FakeSession:
    def __init__(self) -> None:
        self.handlers: list[tuple[str, object, str]] = []

    def register(self, event: str, handler: object, unique_id: str) -> None:
        self.handlers.append((event, handler, unique_id))


class _Model:
    name = "GetSecretValue"

    class service_model:
        service_name = "secretsmanager"


def test_shim_counts_calls_through_session_events() -> None:
    shim = _load_shim()
    read, write = os.pipe()
    try:
        module = types.SimpleNamespace(Session=type("Session", (_FakeSession,), {}))
        shim.patch_session_class(module, write)
        session = module.Session()
        ((event, on_call, unique_id),) = session.handlers
        assert event == "before-call"
        assert unique_id == "lambda-kit-emulator-call-counter"
        on_call(model=_Model(), params={})
        on_call(model=None)
        os.close(write)
        assert os.read(read, 1000) == b"secretsmanager.GetSecretValue\nunknown.Unknown\n"
        on_call(model=_Model())  # the pipe is gone: counting never breaks the call
    finally:
        os.close(read)


def test_shim_patches_botocore_session_as_it_is_imported(tmp_path: Path) -> None:
    shim = _load_shim()
    package = tmp_path / "botocore"
    package.mkdir()
    (package / "session.py").write_text(
        "class Session:\n"
        "    def __init__(self):\n"
        "        self.handlers = []\n"
        "    def register(self, event, handler, unique_id):\n"
        "        self.handlers.append(event)\n"
    )
    read, write = os.pipe()
    try:
        finder = shim.CallCountingFinder(write)
        assert finder.find_spec("json", None) is None
        assert finder.find_spec("botocore.session", [str(tmp_path / "nowhere")]) is None
        spec = finder.find_spec("botocore.session", [str(package)])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.Session().handlers == ["before-call"]
    finally:
        os.close(read)
        os.close(write)


def test_shim_install_patches_a_loaded_module_or_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    loaded = types.ModuleType("botocore.session")
    loaded.Session = type("Session", (_FakeSession,), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "botocore.session", loaded)
    shim.install(1)
    assert loaded.Session().handlers[0][0] == "before-call"  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "botocore.session")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    shim.install(1)
    assert isinstance(sys.meta_path[0], shim.CallCountingFinder)


def test_shim_chains_to_the_next_sitecustomize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['LAMBDA_KIT_CHAINED'] = '1'\n")
    monkeypatch.setattr(sys, "path", [str(SHIM.parent), str(tmp_path)])
    shim._load_next_sitecustomize()
    assert os.environ.get("LAMBDA_KIT_CHAINED") == "1"
    monkeypatch.setattr(sys, "path", [str(SHIM.parent)])
    shim._load_next_sitecustomize()  # none to chain: nothing happens


def test_shim_takes_its_directory_off_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    here = str(SHIM.parent)
    monkeypatch.setattr(sys, "path", ["/task", here, "/layer"])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, "/task", "/layer"]))
    shim.remove_own_directory()
    assert sys.path == ["/task", "/layer"]
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/task", "/layer"])
    monkeypatch.delenv("PYTHONPATH")
    shim.remove_own_directory()
    assert "PYTHONPATH" not in os.environ


def test_interpreter_version_and_directory(tmp_path: Path) -> None:
    assert interpreter_version(sys.executable) == sys.version_info[:2]
    assert interpreter_version(str(tmp_path / "missing")) == sys.version_info[:2]  # falls back
    mute = tmp_path / "mute"
    mute.write_text("#!/bin/sh\necho not a version\n")
    mute.chmod(0o755)
    assert interpreter_version(str(mute)) == sys.version_info[:2]
    assert interpreter_version(str(mute)) == sys.version_info[:2]  # asked once, then remembered
    assert interpreter_dir(str(mute)) == str(tmp_path)
    assert interpreter_dir("sh") == os.path.dirname(os.path.abspath(shutil.which("sh") or ""))


def test_pipe_closes_its_descriptor_once() -> None:
    read, write = os.pipe()
    pipe = _Pipe(read)
    os.write(write, b"hello")
    os.close(write)
    pipe._thread.join(5)  # end of file stops the pump
    assert not pipe._thread.is_alive()
    assert pipe.take() == b"hello"
    pipe.close()
    reused = os.open(os.devnull, os.O_RDONLY)  # may take the number just freed
    try:
        pipe.close()
        assert pipe.take() == b""
        os.fstat(reused)
    finally:
        os.close(reused)


def test_shim_at_start_up_counts_and_leaves_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    here = str(SHIM.parent)
    monkeypatch.setattr(sys, "path", [here])
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "botocore.session", raising=False)
    monkeypatch.setenv("_LAMBDA_KIT_CALLS_FD", "1")
    spec = importlib.util.spec_from_file_location("sitecustomize", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # what site does at the child's start-up
    assert sys.path == []
    assert "_LAMBDA_KIT_CALLS_FD" not in os.environ
    assert type(sys.meta_path[0]).__name__ == "CallCountingFinder"


def test_closed_environment_refuses_to_invoke(handlers: Path) -> None:
    from lambda_kit.emulator import Emulator
    from lambda_kit.emulator._environment import Environment
    from lambda_kit.exceptions import HandlerNotReadyError

    environment = Environment(Emulator("basic.echo", task_root=handlers).config)
    environment.close()
    environment.close()  # idempotent
    assert not environment.reusable
    with pytest.raises(HandlerNotReadyError, match="stopped"):
        environment.invoke(b"{}", "application/json")
