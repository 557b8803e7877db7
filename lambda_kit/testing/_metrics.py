"""Capture the EMF lines :mod:`lambda_kit.metrics` writes, as parsed records for assertions.

:func:`capture_metrics` diverts every blob any :class:`~lambda_kit.metrics.Metrics`
flushes (ColdStart blobs and :meth:`~lambda_kit.metrics.Metrics.new` loggers included)
into a :class:`CapturedMetrics`, which reads them back as CloudWatch would: one
:class:`MetricRecord` per metric and dimension set of each line. The
``metrics_capture`` pytest fixture does the same for one test.

Example:
    >>> from lambda_kit.metrics import Metrics
    >>> from lambda_kit.testing._metrics import capture_metrics
    >>> metrics = Metrics(namespace="Shop", service="orders")
    >>> with capture_metrics() as captured:
    ...     metrics.put_metric("Orders", 2, "Count").flush()
    >>> captured.values("Orders")
    [2]
    >>> captured.records[0].dimensions
    {'service': 'orders'}
"""

from __future__ import annotations

import json
import sys

from lambda_kit import _emf
from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from types import TracebackType
    from typing import Any

__all__ = ["CapturedMetrics", "MetricRecord", "capture_metrics", "metrics_capture"]  # noqa: F822 - lazy fixture


class MetricRecord:
    """One metric of one EMF line under one of its dimension sets: what CloudWatch extracts.

    Attributes:
        namespace: The CloudWatch namespace.
        name: The metric name.
        unit: The unit (``"None"`` when the line gives none).
        storage_resolution: 1 or 60.
        dimensions: The dimension names and values of this set.
        values: The values in this line (a single value is a list of one).
        timestamp: The line's ``_aws.Timestamp`` in epoch milliseconds.
    """

    __slots__ = ("dimensions", "name", "namespace", "storage_resolution", "timestamp", "unit", "values")

    def __init__(
        self,
        *,
        namespace: str,
        name: str,
        unit: str,
        storage_resolution: int,
        dimensions: dict[str, str],
        values: list[float],
        timestamp: int,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.unit = unit
        self.storage_resolution = storage_resolution
        self.dimensions = dimensions
        self.values = values
        self.timestamp = timestamp

    def __repr__(self) -> str:
        return (
            f"MetricRecord(namespace={self.namespace!r}, name={self.name!r}, unit={self.unit!r}, "
            f"storage_resolution={self.storage_resolution}, dimensions={self.dimensions!r}, "
            f"values={self.values!r})"
        )


def _records(document: dict[str, Any]) -> list[MetricRecord]:
    meta = document["_aws"]
    records: list[MetricRecord] = []
    for directive in meta["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"] or [[]]:
            dimensions = {name: document[name] for name in dimension_set}
            for definition in directive["Metrics"]:
                value = document[definition["Name"]]
                records.append(
                    MetricRecord(
                        namespace=directive["Namespace"],
                        name=definition["Name"],
                        unit=definition.get("Unit", "None"),
                        storage_resolution=definition.get("StorageResolution", 60),
                        dimensions=dimensions,
                        values=list(value) if isinstance(value, list) else [value],
                        timestamp=meta["Timestamp"],
                    )
                )
    return records


class CapturedMetrics:
    """The EMF lines written while :func:`capture_metrics` was active, and their parsed forms."""

    def __init__(self, *, echo: bool = False) -> None:
        self.lines: list[str] = []
        self._echo = echo

    def _write(self, blob: str) -> None:
        self.lines.append(blob[:-1] if blob.endswith("\n") else blob)  # list.append is atomic
        if self._echo:
            sys.stdout.write(blob)

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Every line parsed as JSON, in the order written."""
        return [json.loads(line) for line in list(self.lines)]

    @property
    def records(self) -> list[MetricRecord]:
        """Every (line, dimension set, metric) as a :class:`MetricRecord`, in the order written."""
        return [record for document in self.documents for record in _records(document)]

    @property
    def names(self) -> set[str]:
        """The names of every metric captured."""
        return {record.name for record in self.records}

    def values(self, name: str, dimensions: Mapping[str, str] | None = None) -> list[float]:
        """All values of metric ``name`` in the order written, across lines.

        Args:
            name: The metric name.
            dimensions: Only the records with exactly this dimension set; ``None``
                takes each line's first dimension set, so a value counts once.
        """
        found: list[float] = []
        for document in self.documents:
            records = _records(document)
            first = records[0].dimensions if records else {}
            wanted = first if dimensions is None else dict(dimensions)
            for record in records:
                if record.name == name and record.dimensions == wanted:
                    found.extend(record.values)
        return found

    def clear(self) -> None:
        """Forget the lines captured so far."""
        self.lines.clear()

    def __len__(self) -> int:
        return len(self.lines)

    def __repr__(self) -> str:
        return f"CapturedMetrics(lines={len(self.lines)})"


class capture_metrics:  # a class named like the function it is used as: `with capture_metrics():`
    """Divert the EMF lines of every :class:`~lambda_kit.metrics.Metrics` into a :class:`CapturedMetrics`.

    Args:
        echo: Also write the lines to ``sys.stdout`` as usual.

    Captures nest: the innermost active capture receives the lines.
    """

    def __init__(self, *, echo: bool = False) -> None:
        self.captured = CapturedMetrics(echo=echo)

    def __enter__(self) -> CapturedMetrics:
        _emf.add_sink(self.captured._write)
        return self.captured

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _emf.remove_sink(self.captured._write)


def _metrics_capture() -> Iterator[CapturedMetrics]:
    """The EMF lines the test writes, as a :class:`CapturedMetrics`."""
    with capture_metrics() as captured:
        yield captured


def _make_fixture() -> Any:
    import pytest

    return pytest.fixture(name="metrics_capture")(_metrics_capture)


# The fixture is built on first access, so importing this module never imports pytest.
__getattr__, __dir__ = lazy_exports(__name__, {"metrics_capture": _make_fixture})
