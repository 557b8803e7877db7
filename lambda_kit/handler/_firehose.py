"""Amazon Data Firehose data transformation: every record answered (internal).

Firehose invokes the function synchronously with ``{"invocationId", "records": [...]}``,
each record's ``data`` base64 (``kafkaRecordValue`` when the source is Amazon MSK),
and requires one answer per ``recordId``: ``Ok`` with the transformed data,
``Dropped``, or ``ProcessingFailed`` (Firehose writes those records to the
``processing-failed/`` prefix of its S3 error output). The adapter decodes each
record, parses it into the core's input type (``bytes`` raw, ``str`` text, anything
else JSON), calls the core, and answers:

* a ``bytes`` / ``str`` result: ``Ok``, the data as returned;
* any other result (a model, dataclass, dict, list): ``Ok``, compact JSON followed by
  a newline (``json_lines=False`` to leave it out), so that the objects Firehose
  concatenates stay one per line for Athena and Glue;
* :class:`Transformed`: ``Ok`` with its data and its dynamic partitioning keys;
* ``None``: ``Dropped``;
* an exception, or a record that cannot be decoded or parsed: ``ProcessingFailed``
  with the original data, logged with the record id.

A Lambda response is at most 6 MB. Should the transformed records not fit, the
records whose output would overflow are answered ``ProcessingFailed`` with their
original data instead (logged), rather than the whole invocation failing on a
response Lambda cannot return: the original data came within the request's own
limit, so the answer always fits.

Data is decoded strictly by the base64 alphabet and leniently by padding
(:func:`decode_base64`), the same on every Python version.
"""

from __future__ import annotations

import base64
import binascii

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, EventShapeError
from lambda_kit.handler._coerce import converter_for, dumps, kind_of
from lambda_kit.handler._core import Runner, core_parameter_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["MAX_RESPONSE_BYTES", "Transformed", "firehose"]

MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""Lambda's limit on a synchronous response (6 MB), which a Firehose answer must fit in."""

_ENTRY_OVERHEAD = 16  # braces, separators and slack; _size adds each key and value


class Transformed:
    """A transformed record with Firehose dynamic partitioning keys.

    Args:
        data: The output (``bytes``, ``str``, or anything JSON takes, written as a JSON line).
        partition_keys: ``metadata.partitionKeys`` for dynamic partitioning (strings).

    Example:
        >>> Transformed({"id": 1}, partition_keys={"customer": "c-1"}).partition_keys
        {'customer': 'c-1'}
    """

    __slots__ = ("data", "partition_keys")

    def __init__(self, data: Any, *, partition_keys: Mapping[str, str] | None = None) -> None:
        keys = dict(partition_keys or {})
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in keys.items()):
            raise ConfigurationError(
                "Firehose partition keys and values must be strings.", setting="partition_keys"
            )
        self.data = data
        self.partition_keys = keys

    def __repr__(self) -> str:
        return f"Transformed(<{type(self.data).__name__}>, partition_keys={sorted(self.partition_keys)!r})"


def decode_base64(text: str) -> bytes:
    """Base64 strictly by alphabet, leniently by padding (raises ``binascii.Error``).

    Padding is rebuilt from the length, so that every Python version gives the same
    answer: 3.10 accepts ``=`` after complete padding, later versions refuse it, and the
    SAM CLI's own Firehose sample carries such padding. Characters outside the
    alphabet are refused everywhere.
    """
    stripped = text.rstrip("=")
    return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)


def _encode(result: Any, json_lines: bool) -> tuple[str, dict[str, str] | None]:
    """``result`` as base64 output and its partition keys."""
    keys = None
    if isinstance(result, Transformed):
        keys = result.partition_keys or None
        result = result.data
    if isinstance(result, (bytes, bytearray)):
        raw = bytes(result)
    elif isinstance(result, str):
        try:
            raw = result.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: written as "?"
            raw = result.encode("utf-8", "replace")
    else:
        raw = (dumps(result) + ("\n" if json_lines else "")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii"), keys


def firehose(
    core: Callable[..., Any], *, json_lines: bool = True, max_response_bytes: int = MAX_RESPONSE_BYTES
) -> Callable[[Any, Any], dict[str, list[dict[str, Any]]]]:
    """Build the Firehose transformation handler (see the module docstring)."""
    from lambda_kit.handler._batch import _log_failure, _printable

    tp = core_parameter_type(core)
    raw_bytes = kind_of(tp) == "bytes"
    convert = converter_for(tp)
    runner = Runner(core)

    def handler(event: Any, context: Any) -> dict[str, list[dict[str, Any]]]:
        token = lifecycle.start_invocation_for(context)
        try:
            records = event.get("records") if isinstance(event, dict) else None
            if not isinstance(records, list):
                raise EventShapeError(
                    "Not a Firehose transformation event: expected a 'records' list.", source="Firehose"
                )
            for record in records:  # every record must be answered by its id: refuse the event otherwise
                if not isinstance(record, dict) or not isinstance(record.get("recordId"), str):
                    raise EventShapeError("A Firehose record has no 'recordId' string.", source="Firehose")

            def transform(call: Callable[[Any], Any]) -> list[dict[str, Any]]:
                answers = []
                for record in records:
                    field = "kafkaRecordValue" if "kafkaRecordValue" in record else "data"
                    original = record.get(field)
                    answer: dict[str, Any] = {"recordId": record["recordId"]}
                    try:
                        if not isinstance(original, str):
                            raise EventShapeError(f"Firehose record has no '{field}' text.", field=field)
                        try:
                            data = decode_base64(original)
                        except (binascii.Error, ValueError):
                            raise EventShapeError(
                                f"Firehose record {field} is not valid base64.", field=field
                            ) from None
                        result = call(data if raw_bytes else convert(data))
                        if result is None:
                            answer |= {"result": "Dropped", field: ""}
                        else:
                            output, keys = _encode(result, json_lines)
                            answer |= {"result": "Ok", field: output}
                            if keys:
                                answer["metadata"] = {"partitionKeys": keys}
                    except Exception as error:  # every record is answered; none escapes
                        _log_failure("Firehose", _printable(record["recordId"], 200), error)
                        answer |= {
                            "result": "ProcessingFailed",
                            field: original if isinstance(original, str) else "",
                        }
                    answers.append(answer)
                return answers

            answers = runner.run_all(transform)
            return {"records": _within(answers, records, max_response_bytes)}
        finally:
            lifecycle.end_invocation(token)

    return handler


def _json_size(text: str) -> int:
    """Characters ``text`` takes as a JSON string (quotes and escapes included)."""
    if text.isascii() and '"' not in text and "\\" not in text:
        return len(text) + 2  # base64 output always: no escapes
    import json

    return len(json.dumps(text))  # ensure_ascii, as the runtime writes the response


def _size(answer: dict[str, Any]) -> int:
    """An upper bound of the characters ``answer`` takes in the JSON response."""
    total = _ENTRY_OVERHEAD
    for key, value in answer.items():
        total += len(key) + 4  # "key": and a comma
        if isinstance(value, str):
            total += _json_size(value)
        elif key == "metadata":
            keys = value["partitionKeys"]
            total += 32 + sum(_json_size(name) + _json_size(item) + 4 for name, item in keys.items())
    return total


def _within(answers: list[dict[str, Any]], records: list[Any], limit: int) -> list[dict[str, Any]]:
    """``answers``, with the outputs that would overflow ``limit`` replaced by failures.

    Each record has a cheap answer: the smaller of its own and ``ProcessingFailed`` with
    its original data (never larger than the request that carried it). Walking the
    records in order, an answer is kept when it leaves room for the cheap answers of
    every later record; otherwise the record gets its cheap answer.
    """
    sizes = [_size(answer) for answer in answers]
    if sum(sizes) + 16 <= limit:
        return answers
    from lambda_kit.handler._batch import _log_failure, _printable

    cheap = []
    for answer, record in zip(answers, records, strict=True):
        field = "kafkaRecordValue" if "kafkaRecordValue" in answer else "data"
        original = record.get(field)
        failed = {
            "recordId": answer["recordId"],
            "result": "ProcessingFailed",
            field: original if isinstance(original, str) else "",
        }
        cheap.append(answer if _size(answer) <= _size(failed) else failed)
    reserve = [0] * (len(answers) + 1)
    for index in range(len(answers) - 1, -1, -1):
        reserve[index] = reserve[index + 1] + _size(cheap[index])
    used = 16
    kept = []
    for index, answer in enumerate(answers):
        if used + sizes[index] + reserve[index + 1] <= limit or cheap[index] is answer:
            kept.append(answer)
            used += sizes[index]
            continue
        error = EventShapeError(
            f"The transformed output does not fit Lambda's {limit}-byte response; the record is "
            "answered ProcessingFailed with its original data.",
            source="Firehose",
        )
        _log_failure("Firehose", _printable(answer["recordId"], 200), error)
        kept.append(cheap[index])
        used += _size(cheap[index])
    return kept
