"""Amazon S3 Batch Operations: one core call per task, a result code for each (internal).

An S3 Batch Operations job with a "Invoke AWS Lambda function" operation sends the
function tasks: ``{"invocationSchemaVersion": "1.0" | "2.0", "invocationId", "job":
{"id", "userArguments" (2.0)}, "tasks": [{"taskId", "s3Key", "s3VersionId",
"s3BucketArn" (1.0) | "s3Bucket" (2.0)}]}``, and reads back one result per task. The
adapter calls the core once per task with the object
``{"bucket", "key", "version_id", "task_id", "job_id", "user_arguments"}`` (the key
URL-decoded, as S3 sends it encoded; the bucket's name whichever schema named it)
parsed into the core's input type, and answers:

* ``Succeeded`` when the core returns, with its result as ``resultString`` (``str``
  as it is, ``None`` as ``""``, anything else as JSON), which the job's completion
  report shows;
* ``TemporaryFailure`` when the core raises :class:`TemporaryFailureError` (or an AWS
  error S3 answers when it is busy: ``SlowDown``, ``RequestTimeout``, ``503``...): S3
  Batch Operations calls the task again;
* ``PermanentFailure`` for any other exception, or a task that cannot be parsed,
  with the exception's type and message as ``resultString``.

The response echoes the request's schema version and ``invocationId``, with
``treatMissingKeysAs`` (``PermanentFailure`` by default) for tasks it would lack.
An event that is not an S3 Batch Operations request at all raises
:class:`~lambda_kit.exceptions.EventShapeError`.
"""

from __future__ import annotations

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, EventShapeError, TemporaryFailureError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["TemporaryFailureError", "s3_batch"]

_RESULT_LIMIT = 1000
_RESULT_CODES = ("Succeeded", "TemporaryFailure", "PermanentFailure")
# AWS error codes that say "try later" (S3's and the SDK's throttling and timeouts).
_TEMPORARY_CODES = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "InternalError",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "503",
        "500",
    }
)


def _is_temporary(error: BaseException) -> bool:
    if isinstance(error, TemporaryFailureError):
        return True
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return isinstance(code, str) and code in _TEMPORARY_CODES


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def task_object(event: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """What the core receives for ``task``.

    Raises:
        EventShapeError: The task has no ``s3Key`` or bucket.
    """
    from urllib.parse import unquote_plus

    key = task.get("s3Key")
    if not isinstance(key, str):
        raise EventShapeError("S3 Batch Operations task has no 's3Key' string.", field="s3Key")
    bucket = task.get("s3Bucket")
    if not isinstance(bucket, str):
        arn = task.get("s3BucketArn")
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise EventShapeError(
                "S3 Batch Operations task has no 's3Bucket' or 's3BucketArn'.", field="s3Bucket"
            )
        bucket = arn.rsplit(":", 1)[-1]  # arn:aws:s3:::bucket (the sample events add a region)
    job = event.get("job")
    job = job if isinstance(job, dict) else {}
    arguments = job.get("userArguments")
    return {
        "bucket": bucket,
        "key": unquote_plus(key),  # S3 Batch Operations URL-encodes the key
        "version_id": _text(task.get("s3VersionId")),
        "task_id": task.get("taskId"),
        "job_id": _text(job.get("id")),
        "user_arguments": dict(arguments) if isinstance(arguments, dict) else {},
    }


def s3_batch(
    core: Callable[..., Any], *, treat_missing_keys_as: str = "PermanentFailure"
) -> Callable[[Any, Any], dict[str, Any]]:
    """Build the handler of an S3 Batch Operations job (see the module docstring)."""
    from lambda_kit.handler._batch import _log_failure, _printable
    from lambda_kit.handler._coerce import converter_for, dumps, to_jsonable
    from lambda_kit.handler._core import Runner, core_parameter_type

    if treat_missing_keys_as not in _RESULT_CODES:
        raise ConfigurationError(
            f"Invalid treat_missing_keys_as={treat_missing_keys_as!r}; "
            f"expected one of: {', '.join(_RESULT_CODES)}.",
            setting="treat_missing_keys_as",
        )
    convert = converter_for(core_parameter_type(core))
    runner = Runner(core)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        try:
            version = event.get("invocationSchemaVersion") if isinstance(event, dict) else None
            tasks = event.get("tasks") if isinstance(event, dict) else None
            if version not in ("1.0", "2.0") or not isinstance(tasks, list):
                raise EventShapeError(
                    "Not an S3 Batch Operations event: expected invocationSchemaVersion 1.0 or 2.0 "
                    "and 'tasks'.",
                    source="S3 Batch Operations",
                )
            for task in tasks:
                if (
                    not isinstance(task, dict)
                    or not isinstance(task.get("taskId"), str)
                    or not task["taskId"]
                ):
                    raise EventShapeError(
                        "S3 Batch Operations task has no 'taskId': no result could name it.", field="taskId"
                    )

            def process(call: Callable[[Any], Any]) -> list[dict[str, str]]:
                results = []
                for task in tasks:
                    task_id = task["taskId"]
                    try:
                        result = call(convert(task_object(event, task)))
                        code = "Succeeded"
                        if result is None:
                            text = ""
                        elif isinstance(result, str):
                            text = _printable(result)
                        else:
                            text = dumps(to_jsonable(result))
                    except Exception as error:  # every task is answered, none escapes
                        _log_failure("S3 Batch Operations", _printable(task_id, 200), error)
                        code = "TemporaryFailure" if _is_temporary(error) else "PermanentFailure"
                        text = _reason(error)
                    results.append({"taskId": _printable(task_id), "resultCode": code, "resultString": text})
                return results

            results = runner.run_all(process)
            return {
                "invocationSchemaVersion": version,
                "treatMissingKeysAs": treat_missing_keys_as,
                "invocationId": event.get("invocationId"),
                "results": results,
            }
        finally:
            lifecycle.end_invocation(token)

    return handler


def _reason(error: BaseException) -> str:
    from lambda_kit.handler._batch import _printable

    try:
        message = str(error)
    except Exception:  # a broken __str__: the type says enough
        message = ""
    return _printable(
        f"{type(error).__name__}: {message}" if message else type(error).__name__, _RESULT_LIMIT
    )
