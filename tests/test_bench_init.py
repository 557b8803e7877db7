"""benchmarks/bench_init.py's pure figures: rounds, the verdict, the import split, statements."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from lambda_kit_dev.emulator import ImportTiming

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # bench_init imports _common as a script does
    spec = importlib.util.spec_from_file_location("lambda_kit_bench_init", BENCHMARKS / "bench_init.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_round_runs_every_contender_once_starting_one_further(bench: ModuleType) -> None:
    names = ("a", "b", "c")
    orders = [bench.rotated(names, turn) for turn in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def _durations(hand: list[float], kit: list[float], control: list[float]) -> dict[str, list[float]]:
    return {"by hand": hand, "lambda-kit": kit, "by hand (control)": control}


def test_the_verdict_is_on_the_difference_of_the_medians(bench: ModuleType) -> None:
    hand = [300.0, 310.0, 305.0, 290.0, 400.0]  # median 305
    passing = bench.compare(_durations(hand, [x + 4.9 for x in hand], [x + 1.0 for x in hand]))
    assert passing["difference_ms"] == pytest.approx(4.9)
    assert passing["per_round_ms"] == {"median": 4.9, "p10": 4.9, "p90": 4.9}
    assert passing["control_difference_ms"] == pytest.approx(1.0)
    assert passing["verdict"] == "PASS"
    missing = bench.compare(_durations(hand, [x + 5.1 for x in hand], hand))
    assert missing["verdict"] == "MISS"
    assert missing["ratio"] == pytest.approx(310.1 / 305, abs=1e-4)


def test_a_control_further_apart_than_half_the_target_voids_the_verdict(bench: ModuleType) -> None:
    hand = [300.0, 301.0, 302.0]
    void = bench.compare(_durations(hand, hand, [x + 2.6 for x in hand]))
    assert not void["control_holds"]
    assert void["verdict"] == "VOID"
    held = bench.compare(_durations(hand, hand, [x - 2.5 for x in hand]))
    assert held["control_holds"]
    assert held["verdict"] == "PASS"


def test_lambda_kit_is_judged_against_the_minimal_job_too_when_it_ran(bench: ModuleType) -> None:
    hand = [300.0, 310.0, 320.0]
    durations = _durations(hand, [x + 3.0 for x in hand], hand)
    assert "minimal" not in bench.compare(durations)
    durations[bench.MINIMAL] = [x - 20.0 for x in hand]
    minimal = bench.compare(durations)["minimal"]
    assert minimal["difference_ms"] == pytest.approx(23.0)
    assert minimal["verdict"] == "MISS"
    lines = bench.verdict_lines(bench.compare(durations), "ms")
    assert lines[-1].endswith(f"PASS against by hand, MISS against {bench.MINIMAL}")


def test_claims_give_each_comparison_its_own_verdict_and_the_control(bench: ModuleType) -> None:
    hand = [300.0, 310.0, 320.0]
    durations = _durations(hand, [x + 3.0 for x in hand], hand)
    durations[bench.MINIMAL] = [x - 20.0 for x in hand]
    result = bench.compare(durations)
    counts = {
        "by hand": 900_000_000,
        "lambda-kit": 880_000_000,
        "by hand (control)": 900_000_000,
        bench.MINIMAL: 820_000_000,
        "ms_per_million": 0.2,
    }
    found = bench.claims(result, result, counts, 3)
    assert [(claim["value"], claim["verdict"]) for claim in found] == [
        (3.0, "PASS"),
        (23.0, "MISS"),
        (3.0, "PASS"),
        (23.0, "MISS"),
        (-4.0, "PASS"),  # 20 M instructions fewer at 0.2 ms per million
        (12.0, "MISS"),
    ]
    assert all(claim["target"] == bench.TARGET_MS and claim["unit"] == "ms" for claim in found)
    assert found[-1]["control"] == [1.0]
    assert len(bench.claims(result, result, None, 3)) == 4


def test_the_import_split_counts_each_outermost_lambda_kit_module_once(bench: ModuleType) -> None:
    # -X importtime order: a module's line comes after the lines of what it imported. The
    # handler module has no line of its own (the runtime imports it with import_module).
    profile = [
        ImportTiming("site", 8000, 8000, 0),
        ImportTiming("json", 100, 100, 1),
        ImportTiming("awslambdaric.bootstrap", 2000, 2100, 0),
        ImportTiming("lambda_kit._config", 300, 300, 2),
        ImportTiming("lambda_kit", 200, 500, 1),
        ImportTiming("email", 100, 100, 1),
        ImportTiming("lambda_kit.handler", 1000, 1600, 0),  # imported lambda_kit and email
        ImportTiming("boto3", 40000, 40000, 0),
        ImportTiming("lambda_kit.secrets", 700, 700, 0),
    ]
    split = bench.import_split(profile, ("lambda_kit",))
    assert split["total_ms"] == 42.3
    assert split["part_ms"] == 2.3  # handler (with what it imported) + secrets
    assert split["rest_ms"] == 40.0
    assert list(split["own_ms"].items()) == [
        ("lambda_kit.handler", 1.0),
        ("lambda_kit.secrets", 0.7),
        ("lambda_kit._config", 0.3),
        ("lambda_kit", 0.2),
    ]


def test_without_the_runtime_client_every_top_level_import_counts(bench: ModuleType) -> None:
    profile = [ImportTiming("json", 100, 100, 0), ImportTiming("lambda_kit", 50, 50, 0)]
    assert bench.import_split(profile, ("lambda_kit",)) == {
        "total_ms": 0.15,
        "part_ms": 0.05,
        "rest_ms": 0.1,
        "own_ms": {"lambda_kit": 0.05},
    }


SOURCE = '''"""A docstring."""

from __future__ import annotations

import functools

LIMIT = {"a": 1,
         "b": 2}


@functools.cache
def answer(x: Unknown) -> int:
    return LIMIT["a"] + x


class Box:
    size: Missing
'''


def test_statements_are_the_top_level_ones_in_order_without_the_docstring(bench: ModuleType) -> None:
    found = bench.statements(SOURCE)
    assert [label for label, _ in found] == [
        "from __future__ import annotations",
        "import functools",
        'LIMIT = {"a": 1, "b": 2}',
        "def answer",
        "class Box",
    ]
    assert found[3][1].startswith("@functools.cache\ndef answer")


def test_statements_run_one_by_one_as_the_module_would(bench: ModuleType) -> None:
    # Compiled with the annotations future, as the module is: unresolved names stay strings.
    namespace: dict[str, object] = {"__name__": "sample"}
    for _, text in bench.statements(SOURCE):
        exec(compile(text, "sample.py", "exec", flags=bench.FLAG, dont_inherit=True), namespace)  # noqa: S102
    answer = namespace["answer"]
    assert callable(answer)
    assert answer(1) == 2
    assert answer.__wrapped__.__annotations__ == {"x": "Unknown", "return": "int"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", ["init_by_hand", "init_lambda_kit"])
def test_the_handler_modules_split_into_statements_that_compile(bench: ModuleType, module: str) -> None:
    source = (BENCHMARKS / "handlers" / f"{module}.py").read_text(encoding="utf-8")
    found = bench.statements(source)
    assert found[0][0] == "from __future__ import annotations"
    assert any(label.startswith("def ") for label, _ in found)
    for _, text in found:
        compile(text, f"{module}.py", "exec", flags=bench.FLAG, dont_inherit=True)
