"""The cached EMF line equals ``json.dumps`` of the structure the EMF specification documents.

``Metrics`` assembles its line from fragments it keeps between invocations (the
namespace, the dimension sets and the default dimensions as JSON, one definition and
one member key per metric name, the whole part of a line between its timestamp and its
values). Here one long-lived logger serves several generated invocations in a row, so
later ones are written from what earlier ones cached, and every line is compared byte
for byte with the reference built the obvious way: the documented object, encoded
once by ``json.dumps`` with compact separators.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit import _emf
from lambda_kit.metrics import STANDARD_UNITS, Metrics

# Names from a small pool (so invocations repeat them and hit the caches) plus any printable
# text, which json.dumps escapes (non-ASCII, quotes, backslashes).
METRIC_NAMES = st.one_of(
    st.sampled_from(["Latency", "Orders", "Size", 'Quote"d', "Back\\slash", "Größe"]),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12).filter(
        lambda name: name.strip() and name.isprintable() and name != "_aws"
    ),
)
DIMENSION_TEXT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10
).filter(lambda text: not text.startswith(":") and text != "_aws")
UNITS = st.sampled_from(sorted(STANDARD_UNITS))
VALUES = st.one_of(
    st.integers(-(2**53), 2**53),
    st.floats(-(2.0**300), 2.0**300, allow_nan=False, allow_infinity=False),
)


@st.composite
def invocation(draw: st.DrawFn) -> dict[str, Any]:
    """What one invocation records: metrics (1-3 values each), a dimension set, properties."""
    names = draw(st.lists(METRIC_NAMES, min_size=1, max_size=6, unique=True))
    dimensions = draw(st.dictionaries(DIMENSION_TEXT, DIMENSION_TEXT, max_size=3))
    properties = draw(st.dictionaries(st.sampled_from(["request_id", "tier", "note"]), VALUES, max_size=2))
    taken = set(dimensions) | set(properties) | {"service"}
    metrics = {
        name: (draw(UNITS), draw(st.sampled_from([60, 1])), draw(st.lists(VALUES, min_size=1, max_size=3)))
        for name in names
        if name not in taken
    }
    return {"metrics": metrics, "dimensions": dimensions, "properties": properties}


class RawLines:
    """The exact text of every line written meanwhile (``\\n`` included), through the sink hook."""

    def __enter__(self) -> list[str]:
        self.lines: list[str] = []
        _emf.add_sink(self.lines.append)
        return self.lines

    def __exit__(self, *exc_info: object) -> None:
        _emf.remove_sink(self.lines.append)


def reference_line(namespace: str, defaults: dict[str, str], call: dict[str, Any], timestamp: int) -> str:
    """The EMF line for ``call``, built as the specification documents it and encoded by json.dumps."""
    dimensions = {**defaults, **call["dimensions"]}
    definitions = []
    for name, (unit, resolution, _) in call["metrics"].items():
        definition: dict[str, Any] = {"Name": name, "Unit": unit}
        if resolution == 1:
            definition["StorageResolution"] = 1
        definitions.append(definition)
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [list(dimensions)], "Metrics": definitions}
            ],
        },
        **dimensions,
        **call["properties"],
    }
    for name, (_, _, values) in call["metrics"].items():
        written = [value if -(2**53) <= value <= 2**53 else float(value) for value in values]
        document[name] = written[0] if len(written) == 1 else written
    return json.dumps(document, separators=(",", ":")) + "\n"


@settings(max_examples=80, deadline=None)
@given(
    namespace=st.sampled_from(["Shop", "Shop/Orders", "a.b#c:d-e_f"]),
    calls=st.lists(invocation(), max_size=5),
)
def test_every_cached_line_is_the_documented_structure_encoded_by_json(
    namespace: str, calls: list[dict[str, Any]]
) -> None:
    metrics = Metrics(namespace=namespace, service="orders")
    for call in [*calls, *calls]:  # the second round is written from the caches the first filled
        timestamp = int(time.time() * 1000)
        with RawLines() as written:
            metrics.set_timestamp(timestamp)
            if call["dimensions"]:
                metrics.put_dimensions(call["dimensions"])
            for key, value in call["properties"].items():
                metrics.set_property(key, value)
            for name, (unit, resolution, values) in call["metrics"].items():
                for value in values:
                    metrics.put_metric(name, value, unit, resolution)
            metrics.flush()
        expected = (
            [reference_line(namespace, {"service": "orders"}, call, timestamp)] if call["metrics"] else []
        )
        assert written == expected


def test_a_metric_repeated_in_later_invocations_keeps_each_invocations_values() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    lines = []
    for round_ in range(3):
        timestamp = int(time.time() * 1000)
        with RawLines() as written:
            metrics.set_timestamp(timestamp).put_dimensions({"operation": "checkout"})
            metrics.put_metric("Latency", 1.5 * round_, "Milliseconds").put_metric("Orders", round_, "Count")
            metrics.flush()
        lines.extend(written)
        call = {
            "metrics": {"Latency": ("Milliseconds", 60, [1.5 * round_]), "Orders": ("Count", 60, [round_])},
            "dimensions": {"operation": "checkout"},
            "properties": {},
        }
        assert written == [reference_line("Shop", {"service": "orders"}, call, timestamp)]
    assert len(set(lines)) == 3
