"""The EMF lines (lambda_kit._emf) against the specification and against aws-embedded-metrics.

* Every line validates against the JSON Schema published in CloudWatch's "Specification:
  Embedded metric format" page (transcribed below), plus the rules the schema cannot
  express (targets on the root node, numeric metric targets, at most 100 values and
  100 metrics, string dimension targets of at most 1024 characters, 1 MB per event).
* Parity: for the same calls, our lines and aws-embedded-metrics' own serializer
  (MetricsContext + LogSerializer, driven directly; its logger and event loop are never
  used) give CloudWatch the same metric data, over hypothesis-generated metric sets,
  including sets large enough to be split.
* Random, mostly invalid input never produces an invalid line.
* Splitting: more than 100 metrics, more than 100 values or more than 1 MB become
  several lines, and nothing is dropped.
* The parts of :mod:`lambda_kit._emf` the collector builds on (``MetricDefinition``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit import _emf
from lambda_kit.exceptions import InvalidDimensionError, MetricsError
from lambda_kit.metrics import STANDARD_UNITS, Metrics
from lambda_kit.testing._metrics import CapturedMetrics, capture_metrics

# The schema from the specification, as published (only the "$id"/"title"/"examples"
# annotations are left out: they do not validate anything).
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer"},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {
                                "type": "string",
                                "pattern": "^(.*)$",
                                "minLength": 1,
                                "maxLength": 1024,
                            },
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "array",
                                    "minItems": 0,
                                    "maxItems": 30,
                                    "items": {
                                        "type": "string",
                                        "pattern": "^(.*)$",
                                        "minLength": 1,
                                        "maxLength": 250,
                                    },
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "pattern": "^(.*)$",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {
                                            "type": "string",
                                            "pattern": (
                                                "^(Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes"
                                                "|Gigabytes|Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits"
                                                "|Percent|Count|Bytes\\/Second|Kilobytes\\/Second"
                                                "|Megabytes\\/Second|Gigabytes\\/Second|Terabytes\\/Second"
                                                "|Bits\\/Second|Kilobits\\/Second|Megabits\\/Second"
                                                "|Gigabits\\/Second|Terabits\\/Second|Count\\/Second|None)$"
                                            ),
                                        },
                                        "StorageResolution": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
VALIDATOR = jsonschema.Draft7Validator(EMF_SCHEMA)


def assert_valid_emf(line: str) -> dict[str, Any]:
    """Validate one line: the published schema, then the rules stated only in prose."""
    assert "\n" not in line
    assert len(line.encode()) < 1_048_576  # a CloudWatch Logs event
    document = json.loads(line)
    errors = [error.message for error in VALIDATOR.iter_errors(document)]
    assert not errors, errors
    for directive in document["_aws"]["CloudWatchMetrics"]:
        definitions = directive["Metrics"]
        assert 1 <= len(definitions) <= 100
        names = [definition["Name"] for definition in definitions]
        assert len(names) == len(set(names))
        for definition in definitions:
            assert definition.get("StorageResolution", 60) in (1, 60)
            target = document[definition["Name"]]
            values = target if isinstance(target, list) else [target]
            assert 1 <= len(values) <= 100
            for value in values:
                assert type(value) in (int, float)  # not bool, not str
                assert math.isfinite(value)
                assert abs(value) <= 2.0**360
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert name not in names
                value = document[name]
                assert isinstance(value, str)
                assert 1 <= len(value) <= 1024
    return document  # type: ignore[no-any-return]


def cloudwatch_data(lines: list[str]) -> Counter[tuple[Any, ...]]:
    """What CloudWatch extracts: one datum per (line, dimension set, metric, value)."""
    data: Counter[tuple[Any, ...]] = Counter()
    for line in lines:
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            # aws-embedded-metrics writes [] for "no dimensions", lambda-kit the schema-valid [[]].
            for dimension_set in directive["Dimensions"] or [[]]:
                dimensions = frozenset((name, document[name]) for name in dimension_set)
                for definition in directive["Metrics"]:
                    target = document[definition["Name"]]
                    for value in target if isinstance(target, list) else [target]:
                        data[
                            (
                                directive["Namespace"],
                                dimensions,
                                definition["Name"],
                                definition.get("Unit", "None"),
                                definition.get("StorageResolution", 60),
                                float(value),
                            )
                        ] += 1
    return data


# -- strategies -------------------------------------------------------------------------------

LABEL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=1, max_size=12
)
DIMENSION_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20
).filter(lambda text: text.strip() != "")
VALUE = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(min_value=-(2.0**360), max_value=2.0**360, allow_nan=False, allow_infinity=False),
)
UNIT = st.sampled_from(sorted(STANDARD_UNITS))
RESOLUTION = st.sampled_from([60, 1])


def dimension_sets(max_size: int = 4) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(LABEL.map(lambda text: "d" + text), DIMENSION_VALUE, max_size=max_size)


@st.composite
def metric_sets(draw: st.DrawFn) -> dict[str, Any]:
    """A namespace, default dimensions, and a script of calls that both libraries accept."""
    names = draw(st.lists(LABEL.map(lambda text: "m" + text), min_size=1, max_size=12, unique=True))
    # One value per dimension name for the whole script: two sets of one blob that give a
    # name different values are refused by lambda-kit (see test_one_value_per_dimension_name).
    vocabulary = draw(dimension_sets(max_size=8))

    def subsets(max_size: int = 4) -> st.SearchStrategy[dict[str, str]]:
        if not vocabulary:
            return st.just({})
        chosen = st.lists(st.sampled_from(sorted(vocabulary)), unique=True, max_size=max_size)
        return chosen.map(lambda keys: {key: vocabulary[key] for key in keys})

    if draw(st.booleans()):  # sometimes more than 100 metrics, to force a split
        names += [f"bulk{index}" for index in range(draw(st.integers(90, 130)))]
    kinds = {name: (draw(UNIT), draw(RESOLUTION)) for name in names}
    calls: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["metric", "metric", "metric", "burst", "put", "set", "reset"]))
        if kind == "metric":
            calls.append(("metric", draw(st.sampled_from(names)), draw(VALUE)))
        elif kind == "burst":  # many values of one metric: more than 100 forces a split
            name = draw(st.sampled_from(names))
            start = draw(VALUE)
            calls.extend(("metric", name, start) for _ in range(draw(st.integers(2, 230))))
        elif kind == "put":
            calls.append(("put", draw(subsets())))
        elif kind == "set":
            calls.append(("set", draw(st.lists(subsets(), min_size=1, max_size=3)), draw(st.booleans())))
        else:
            calls.append(("reset", draw(st.booleans())))
    for name in names:  # every name is used at least once
        calls.append(("metric", name, draw(VALUE)))
    return {
        "namespace": draw(LABEL),
        "defaults": draw(subsets(max_size=3)),
        "kinds": kinds,
        "calls": calls,
    }


def run_lambda_kit(script: dict[str, Any]) -> list[str]:
    metrics = Metrics(namespace=script["namespace"], dimensions=script["defaults"])
    with capture_metrics() as captured:
        for call in script["calls"]:
            if call[0] == "metric":
                unit, resolution = script["kinds"][call[1]]
                metrics.put_metric(call[1], call[2], unit, resolution)
            elif call[0] == "put":
                metrics.put_dimensions(call[1])
            elif call[0] == "set":
                metrics.set_dimensions(*call[1], use_default=call[2])
            else:
                metrics.reset_dimensions(call[1])
        metrics.flush()
    return captured.lines


def run_aws_embedded_metrics(script: dict[str, Any]) -> list[str]:
    from aws_embedded_metrics.logger.metrics_context import MetricsContext
    from aws_embedded_metrics.serializers.log_serializer import LogSerializer
    from aws_embedded_metrics.storage_resolution import StorageResolution

    context = MetricsContext(script["namespace"], default_dimensions=dict(script["defaults"]))
    for call in script["calls"]:
        if call[0] == "metric":
            unit, resolution = script["kinds"][call[1]]
            context.put_metric(call[1], call[2], unit, StorageResolution(resolution))
        elif call[0] == "put":
            context.put_dimensions(dict(call[1]))
        elif call[0] == "set":
            context.set_dimensions([dict(dimensions) for dimensions in call[1]], call[2])
        else:
            context.reset_dimensions(call[1])
    lines: list[str] = LogSerializer.serialize(context)
    return lines


# -- the specification ---------------------------------------------------------------------------


def test_the_schema_rejects_what_the_specification_forbids() -> None:
    # Guards the validator itself: each of these breaks the specification.
    good = {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["d"]], "Metrics": [{"Name": "m"}]}],
        },
        "d": "v",
        "m": 1,
    }
    assert_valid_emf(json.dumps(good))
    broken = [
        {**good, "m": "1"},
        {**good, "m": True},
        {**good, "m": list(range(101))},
        {**good, "d": 5},
        {k: v for k, v in good.items() if k != "m"},
        {**good, "_aws": {**good["_aws"], "Timestamp": "now"}},  # type: ignore[dict-item]
        {
            **good,
            "_aws": {
                "Timestamp": 1,
                "CloudWatchMetrics": [
                    {"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "m", "Unit": "ms"}]},
                ],
            },
        },
    ]
    for document in broken:
        with pytest.raises((AssertionError, KeyError)):
            assert_valid_emf(json.dumps(document))


def test_cold_start_and_empty_dimension_lines_are_valid(captured: CapturedMetrics) -> None:
    from lambda_kit.testing import FakeContext, reset_lifecycle

    reset_lifecycle()
    metrics = Metrics(namespace="Shop", service="orders")

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> None:
        metrics.put_metric("Orders", 1, "Count")

    handler({}, FakeContext())
    Metrics(namespace="Bare").put_metric("X", 1).flush()
    reset_lifecycle()

    assert len(captured.lines) == 3
    for line in captured.lines:
        assert_valid_emf(line)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(script=metric_sets())
def test_every_line_is_valid_and_matches_aws_embedded_metrics(script: dict[str, Any]) -> None:
    ours = run_lambda_kit(script)
    reference = run_aws_embedded_metrics(script)

    for line in ours:
        assert_valid_emf(line)
    assert cloudwatch_data(ours) == cloudwatch_data(reference)
    values = sum(1 for call in script["calls"] if call[0] == "metric")
    assert sum(cloudwatch_data(ours).values()) >= values  # nothing dropped (each set counts once or more)


SMALL_NAME = st.sampled_from(["da", "db", "dc"])
SMALL_VALUE = st.sampled_from(["x", "y"])


@settings(max_examples=200, deadline=None)
@given(
    defaults=st.dictionaries(SMALL_NAME, SMALL_VALUE, max_size=2),
    sets=st.lists(st.dictionaries(SMALL_NAME, SMALL_VALUE, max_size=3), min_size=1, max_size=3),
    use_default=st.booleans(),
)
def test_one_value_per_dimension_name(
    defaults: dict[str, str], sets: list[dict[str, str]], use_default: bool
) -> None:
    """A blob is written only if each dimension name has one value; then every set is credited."""
    effective = [{**defaults, **dimensions} for dimensions in sets] if use_default and defaults else sets
    values: dict[str, set[str]] = {}
    for dimensions in effective:
        for name, value in dimensions.items():
            values.setdefault(name, set()).add(value)
    clash = sorted(name for name, seen in values.items() if len(seen) > 1)
    metrics = Metrics(namespace="Shop", dimensions=defaults)
    with capture_metrics() as captured:
        if clash:
            with pytest.raises(InvalidDimensionError, match="both values are not allowed") as info:
                metrics.set_dimensions(*sets, use_default=use_default)
            assert info.value.context["dimension"] in clash
        else:
            metrics.set_dimensions(*sets, use_default=use_default)
        metrics.put_metric("Orders", 1, "Count").flush()
    for line in captured.lines:
        assert_valid_emf(line)
    written = [record.dimensions for record in captured.records]
    if clash:  # refused: the blob kept the defaults
        assert written == [defaults]
    else:  # each set is written with its own values, none overwritten by another set's
        assert written == [dict(dimensions) for dimensions in effective]


def test_parity_on_a_large_fixed_example() -> None:
    script = {
        "namespace": "Shop",
        "defaults": {"service": "orders"},
        "kinds": {**{f"m{i}": ("Count", 60) for i in range(150)}, "hot": ("Milliseconds", 1)},
        "calls": [
            ("put", {"operation": "checkout"}),
            *[("metric", f"m{i}", i) for i in range(150)],
            *[("metric", "hot", i * 0.25) for i in range(333)],
        ],
    }
    ours = run_lambda_kit(script)
    reference = run_aws_embedded_metrics(script)
    assert len(ours) >= 4
    for line in ours:
        assert_valid_emf(line)
    assert cloudwatch_data(ours) == cloudwatch_data(reference)


# -- invalid input never reaches stdout -------------------------------------------------------------

ANY_TEXT = st.text(max_size=300)
ANY_VALUE = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**400), max_value=2**400),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.decimals(allow_nan=True),
)


@st.composite
def hostile_calls(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["metric", "dimensions", "property", "namespace", "timestamp"]))
        if kind == "metric":
            unit = draw(st.one_of(st.sampled_from(sorted(STANDARD_UNITS)), ANY_TEXT))
            resolution = draw(st.one_of(st.sampled_from([1, 60]), st.integers(-5, 100)))
            name = draw(st.one_of(LABEL, ANY_TEXT, st.sampled_from(["_aws", "dservice"])))
            calls.append(("metric", name, draw(ANY_VALUE), unit, resolution))
        elif kind == "dimensions":
            calls.append(
                ("dimensions", draw(st.dictionaries(st.one_of(LABEL, ANY_TEXT), ANY_TEXT, max_size=4)))
            )
        elif kind == "property":
            calls.append(("property", draw(ANY_TEXT), draw(st.one_of(ANY_VALUE, st.lists(st.floats())))))
        elif kind == "namespace":
            calls.append(("namespace", draw(ANY_TEXT)))
        else:
            calls.append(("timestamp", draw(st.one_of(st.floats(), st.integers(), st.datetimes()))))
    return calls


@settings(max_examples=150, deadline=None)
@given(calls=hostile_calls())
def test_random_input_is_either_rejected_or_written_as_valid_emf(calls: list[tuple[Any, ...]]) -> None:
    metrics = Metrics(namespace="Fuzz", dimensions={"dservice": "x"})
    accepted = 0
    with capture_metrics() as captured:
        for call in calls:
            try:
                if call[0] == "metric":
                    metrics.put_metric(call[1], call[2], call[3], call[4])
                    accepted += 1
                elif call[0] == "dimensions":
                    metrics.put_dimensions(call[1])
                elif call[0] == "property":
                    metrics.set_property(call[1], call[2])
                elif call[0] == "namespace":
                    metrics.set_namespace(call[1])
                else:
                    metrics.set_timestamp(call[1])
            except MetricsError:
                pass
        metrics.flush()
    for line in captured.lines:
        assert_valid_emf(line)
    assert bool(captured.lines) == (accepted > 0)


# -- splitting: nothing is dropped ---------------------------------------------------------------


def only_directive(document: dict[str, Any]) -> dict[str, Any]:
    directives = document["_aws"]["CloudWatchMetrics"]
    assert len(directives) == 1
    return directives[0]  # type: ignore[no-any-return]


def test_large_sets_are_split_and_nothing_is_dropped(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    for index in range(250):
        metrics.put_metric("Many", index, "Count")
    for index in range(230):
        metrics.put_metric(f"M{index}", index)
    metrics.flush()

    documents = captured.documents
    assert all(len(only_directive(d)["Metrics"]) <= 100 for d in documents)
    for document in documents:
        names = [item["Name"] for item in only_directive(document)["Metrics"]]
        assert len(names) == len(set(names))
        for name in names:
            value = document[name]
            assert not isinstance(value, list) or len(value) <= 100
    assert captured.values("Many") == list(range(250))
    for index in range(230):
        assert captured.values(f"M{index}") == [index]


def test_one_metric_with_many_values_is_split(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Single", 0.5)
    for index in range(150):
        metrics.put_metric("Many", index)
    metrics.put_dimensions({"operation": "a"})
    metrics.flush()

    assert [len(d["Many"]) for d in captured.documents] == [100, 50]
    assert captured.values("Many") == list(range(150))
    assert captured.values("Single") == [0.5]
    assert all(d["operation"] == "a" for d in captured.documents)


def test_a_blob_over_the_size_budget_is_split(
    monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics
) -> None:
    monkeypatch.setattr(_emf, "MAX_LINE", 2_000)
    metrics = Metrics(namespace="Shop")
    for index in range(40):
        metrics.put_metric(f"Metric-{index:03d}-" + "x" * 20, index)
    metrics.flush()

    assert len(captured.lines) > 1
    assert all(len(line) + 1 <= 2_000 for line in captured.lines)
    assert sorted(value for r in captured.records for value in r.values) == list(range(40))


def test_a_metric_that_cannot_fit_raises_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics
) -> None:
    monkeypatch.setattr(_emf, "MAX_LINE", 600)
    metrics = Metrics(namespace="Shop")
    metrics.set_property("note", "x" * 300)
    for index in range(50):
        metrics.put_metric("Values", index * 1.123456789)
    with pytest.raises(MetricsError, match="does not fit"):
        metrics.flush()
    assert captured.lines == []


# -- the wire module's parts ----------------------------------------------------------------------


def test_a_metric_definition_names_its_fields_and_holds_its_fragments() -> None:
    definition = _emf.MetricDefinition("Latency", _emf.Unit.MILLISECONDS, _emf.StorageResolution.HIGH)

    assert (definition.given_unit, definition.given_resolution) == ("Milliseconds", 1)
    assert (definition.unit, definition.resolution) == ("Milliseconds", 1)
    assert definition.definition_json == '{"Name":"Latency","Unit":"Milliseconds","StorageResolution":1}'
    assert definition.member_key == ',"Latency":'
    assert not hasattr(definition, "__dict__")  # a slots class: no per-instance dict

    quoted = _emf.MetricDefinition('Say "hi"', None, 60)
    assert (quoted.given_unit, quoted.unit, quoted.resolution) == (None, "None", 60)
    assert json.loads(quoted.definition_json) == {"Name": 'Say "hi"', "Unit": "None"}
    assert json.loads("{" + quoted.member_key[1:] + "1}") == {'Say "hi"': 1}
