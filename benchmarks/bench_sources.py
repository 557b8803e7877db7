"""The event-source adapters of issue 15 against hand-written handlers doing the same work.

Warm cost per invocation, in-process, for:

* API Gateway authorizers: a REST TOKEN authorizer answering an IAM policy for the
  whole stage with a context, and an HTTP API payload 2.0 authorizer in the simple
  format. The plain handlers check the token, split the method ARN and build the
  response dict by hand (the lower bound).
* CloudWatch Logs: a subscription delivery of 20 log events (base64, gzip, JSON); the
  core takes each message as ``str``, then a dataclass with message, timestamp, group
  and stream. The plain handler decodes the same way and calls the core per event
  (building the dataclass by hand, without type checks).
* Firehose: a transformation batch of 20 JSON records parsed into a dataclass,
  enriched and written back as JSON lines. The plain handler does ``json.loads``,
  ``Click(**...)``, ``json.dumps`` and base64 per record, with a try/except per record.

Each pair is timed in paired rounds of thread CPU time: a round times the plain
handler and lambda-kit back to back, in alternating order, for ~10 ms each, and takes
their ratio; lambda-kit is timed a second time in the round as the control (must be
1.00 +/- 0.03, else the machine was too noisy). Medians and interquartile ranges of
the per-round ratios are printed, with the microseconds per invocation.

No target was set for these adapters (issue 15 asks for the ratio); ratios above 2x
are flagged for a look.

Usage: ``python benchmarks/bench_sources.py [--quick]``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import gzip
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _common import Output, machine_info, machine_lines, median, percentile

from lambda_kit.handler import Policy, authorizer, cloudwatch_logs, firehose
from lambda_kit.testing import FakeContext, events

FLAG = 2.0

# -- authorizers -----------------------------------------------------------------------------------

TOKENS = {"good-token": ("user-1", "gold")}


def check_token(token: str) -> Policy | None:
    found = TOKENS.get(token)
    if found is None:
        return None
    principal, tier = found
    return Policy(principal, context={"tier": tier}).allow()


def plain_token_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    found = TOKENS.get(event["authorizationToken"])
    if found is None:
        raise Exception("Unauthorized")
    principal, tier = found
    arn, _, rest = event["methodArn"].rpartition(":")
    api_id, stage = rest.split("/", 2)[:2]
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{arn}:{api_id}/{stage}/*/*"}
            ],
        },
        "context": {"tier": tier},
    }


def check_simple(token: str) -> Policy | None:
    found = TOKENS.get(token)
    return None if found is None else Policy(found[0], context={"tier": found[1]}).allow()


def plain_simple_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    found = TOKENS.get(",".join(event["identitySource"]))
    if found is None:
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"tier": found[1]}}


# -- CloudWatch Logs ---------------------------------------------------------------------------------


@dataclass
class LogLine:
    message: str
    timestamp: int
    log_group: str
    log_stream: str


SINK: list[Any] = []


def on_message(message: str) -> None:
    if "ERROR" in message:
        SINK.append(message)


def on_line(line: LogLine) -> None:
    if "ERROR" in line.message:
        SINK.append(line)


def plain_logs_text(event: dict[str, Any], context: Any) -> None:
    document = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if document["messageType"] == "CONTROL_MESSAGE":
        return
    for entry in document["logEvents"]:
        on_message(entry["message"])


def plain_logs_typed(event: dict[str, Any], context: Any) -> None:
    document = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if document["messageType"] == "CONTROL_MESSAGE":
        return
    for entry in document["logEvents"]:
        on_line(LogLine(entry["message"], entry["timestamp"], document["logGroup"], document["logStream"]))


# -- Firehose ------------------------------------------------------------------------------------------


@dataclass
class Click:
    user: str
    page: str
    millis: int


def enrich(click: Click) -> dict[str, Any]:
    return {"user": click.user, "page": click.page, "seconds": click.millis / 1000, "site": "shop"}


def plain_firehose(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answers = []
    for record in event["records"]:
        try:
            click = Click(**json.loads(base64.b64decode(record["data"])))
            output = json.dumps(enrich(click), separators=(",", ":")) + "\n"
            answers.append(
                {
                    "recordId": record["recordId"],
                    "result": "Ok",
                    "data": base64.b64encode(output.encode()).decode("ascii"),
                }
            )
        except Exception:
            answers.append(
                {"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]}
            )
    return {"records": answers}


# -- measurement -------------------------------------------------------------------------------------


def paired(
    plain: Callable[[Any, Any], Any], kit: Callable[[Any, Any], Any], event: Any, rounds: int
) -> dict[str, Any]:
    """Per-round CPU-time ratios of ``kit`` over ``plain`` and of ``kit`` over itself (the control)."""
    context = FakeContext(request_id="req-bench")

    def call(handler: Callable[[Any, Any], Any]) -> None:
        try:
            handler(event, context)
        except Exception as error:  # a REST authorizer's 401 is an exception by design
            if str(error) != "Unauthorized":
                raise

    for handler in (plain, kit):
        for _ in range(300):
            call(handler)
    start = time.thread_time()
    for _ in range(200):
        call(kit)
    calls = max(50, int(200 * 0.010 / max(time.thread_time() - start, 1e-6)))

    def batch(handler: Callable[[Any, Any], Any]) -> float:
        gc.collect()
        began = time.thread_time()
        for _ in range(calls):
            call(handler)
        return time.thread_time() - began

    ratios: list[float] = []
    control: list[float] = []
    plain_us: list[float] = []
    kit_us: list[float] = []
    for index in range(rounds):
        if index % 2:
            first, plain_time, second = batch(kit), batch(plain), batch(kit)
        else:
            plain_time, first, second = batch(plain), batch(kit), batch(kit)
        ratios.append(first / plain_time)
        control.append(second / first)
        plain_us.append(plain_time / calls * 1e6)
        kit_us.append(first / calls * 1e6)
    return {
        "ratio": median(ratios),
        "ratio_iqr": [percentile(ratios, 25), percentile(ratios, 75)],
        "control": median(control),
        "control_iqr": [percentile(control, 25), percentile(control, 75)],
        "plain_us": median(plain_us),
        "kit_us": median(kit_us),
        "calls_per_batch": calls,
        "rounds": rounds,
    }


def scenarios() -> dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any], Any]]:
    log_messages = [
        f"[{'ERROR' if index % 5 == 0 else 'INFO'}] request {index} took {index * 3} ms"
        for index in range(20)
    ]
    clicks = [
        {"user": f"u-{index}", "page": f"/p/{index}", "millis": 1700000000000 + index} for index in range(20)
    ]
    return {
        "authorizer: REST TOKEN, IAM policy": (
            plain_token_authorizer,
            authorizer(check_token),
            events.authorizer_token("good-token"),
        ),
        "authorizer: REST TOKEN, 401": (
            plain_token_authorizer,
            authorizer(check_token),
            events.authorizer_token("bad-token"),
        ),
        "authorizer: HTTP API 2.0, simple": (
            plain_simple_authorizer,
            authorizer(check_simple, simple=True),
            events.http_api_authorizer("GET", "/orders/1", identity_source=["good-token"]),
        ),
        "CloudWatch Logs: 20 events, str core": (
            plain_logs_text,
            cloudwatch_logs(on_message),
            events.cloudwatch_logs(log_messages),
        ),
        "CloudWatch Logs: 20 events, dataclass core": (
            plain_logs_typed,
            cloudwatch_logs(on_line),
            events.cloudwatch_logs(log_messages),
        ),
        "Firehose: 20 JSON records, dataclass in/out": (
            plain_firehose,
            firehose(enrich),
            events.firehose(clicks),
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds; writes no result files")
    args = parser.parse_args()
    rounds = 7 if args.quick else 31

    out = Output("bench_sources")
    info = machine_info()
    out.line("bench_sources: issue 15's adapters vs hand-written handlers (paired rounds of thread CPU time)")
    for line in machine_lines(info):
        out.line(line)
    out.line(f"runs    : {rounds} paired rounds of ~10 ms per handler; medians, IQR of per-round ratios")
    out.line("          (control: lambda-kit timed twice per round, must be 1.00 +/- 0.03)")
    out.line()
    results: dict[str, Any] = {}
    for label, (plain, kit, event) in scenarios().items():
        context = FakeContext()
        try:  # both must answer the same before they are timed
            expected = plain(event, context)
        except Exception as error:
            expected = f"raised {error}"
        try:
            got = kit(event, context)
        except Exception as error:
            got = f"raised {error}"
        assert json.dumps(expected, sort_keys=True) == json.dumps(got, sort_keys=True), (label, expected, got)
        result = paired(plain, kit, event, rounds)
        results[label] = result
        flag = "  <- above 2x" if result["ratio"] > FLAG else ""
        out.line(
            f"  {label:46s} plain {result['plain_us']:8.2f} us  lambda-kit {result['kit_us']:8.2f} us  "
            f"x{result['ratio']:.2f} (IQR {result['ratio_iqr'][0]:.2f}-{result['ratio_iqr'][1]:.2f})  "
            f"control {result['control']:.3f}{flag}"
        )
    out.line()
    out.finish({"machine": info, "results": results}, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
