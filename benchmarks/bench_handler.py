"""lambda_kit.handler against a hand-written handler and Powertools, shape by shape.

Warm (per invocation, in-process), in paired rounds of CPU time (``_common.paired_rounds``:
each round times every contender back to back on ``time.thread_time()``, ratios are
taken within the round, two passes, an identical pair as the control, void past 3 %):

* HTTP, one route each, against a plain handler written for that integration (the
  lower bound), Powertools' resolver for it with ``enable_validation=True``, and the
  same resolver without validation and pydantic called by hand:

  - REST API ``POST /orders``: a JSON body validated into a pydantic model, a
    pydantic result;
  - HTTP API (payload 2.0) ``GET /orders/{order_id}?verbose=true``: an int path
    parameter and a bool query parameter, no body, a dict result;
  - ALB and a function URL: the same GET.

* SQS: a batch of 10 records validated into a pydantic model, partial batch
  response, all good and with 1 of 10 failing. The failure is logged on every side
  (the plain loop logs a WARNING with the message id and the traceback, as
  lambda-kit does) into a stream on ``/dev/null``, so both pay for formatting the
  record and its traceback and neither for a terminal.
* End to end: an HTTP API route that reads a cached secret, records one metric and
  returns JSON, through ``http()`` + ``Secret`` + ``Metrics``, against the same
  handler written by hand (a module-level secret string, the EMF line assembled
  with ``json.dumps``); stdout goes to ``/dev/null`` for both.

Cold: ``import`` of each in a fresh interpreter (bytecode cached, as in a deployed
package built with compileall), alone and after ``awslambdaric.bootstrap`` (what the
Lambda runtime has already loaded when the handler module is imported).

Targets (issue 13): ``http()`` within 1.3x the plain handler on every integration and
shape; the end-to-end handler within 1.3x hand-written; ``import lambda_kit.handler``
< 3 ms.

``--baseline REV`` instead compares this tree's adapters with those of git revision
``REV`` (``lambda_kit/handler/`` and ``lambda_kit/_proxy_events.py`` as they were there,
loaded as a package of another name beside the other modules of this tree): REST POST
with a JSON body, HTTP API GET with a path and a query parameter, ALB GET, a function
URL and an SQS batch, in paired rounds of CPU time (each round times both back to back,
in alternating order, and takes their ratio), with an identical pair as the control.

Usage: ``python benchmarks/bench_handler.py [--quick] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
from _common import (
    REPO_ROOT,
    Output,
    control_line,
    control_summary,
    machine_info,
    machine_lines,
    median,
    paired_ratio,
    paired_rounds,
    per_call_us,
    percentile,
    summary,
    value_line,
)

from lambda_kit.handler import http, sqs
from lambda_kit.testing import FakeContext, events


class CreateOrder(pydantic.BaseModel):
    sku: str
    quantity: int
    note: str = ""


class OrderCreated(pydantic.BaseModel):
    order_id: str
    sku: str
    quantity: int


def create_order(order: CreateOrder) -> OrderCreated:
    return OrderCreated(order_id="o-1", sku=order.sku, quantity=order.quantity)


def process(order: CreateOrder) -> None:
    if order.quantity < 0:
        raise ValueError("negative quantity")


# -- HTTP handlers ---------------------------------------------------------------------------


def plain_http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        order = CreateOrder.model_validate_json(event["body"])
    except pydantic.ValidationError as error:
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": error.json()}
    result = create_order(order)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": result.model_dump_json(),
        "isBase64Encoded": False,
    }


def powertools_http() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver(enable_validation=True)

    @app.post("/orders")
    def create(order: CreateOrder) -> OrderCreated:
        return create_order(order)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


# -- SQS handlers ----------------------------------------------------------------------------


def plain_sqs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            process(CreateOrder.model_validate_json(record["body"]))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def powertools_sqs() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: Any) -> None:
        process(CreateOrder.model_validate_json(record.body))

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


# -- GET shapes: one route with an int path parameter and a bool query parameter ------------


def get_order(order_id: int, verbose: bool = False) -> dict[str, Any]:
    return {"id": order_id, "verbose": verbose}


_TRUE = frozenset({"true", "1", "yes", "on"})


def _json_response(status: int, document: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(document, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _get_by_hand(raw_id: str | None, query: dict[str, str] | None) -> dict[str, Any]:
    try:
        order_id = int(raw_id or "")
    except ValueError:
        return _json_response(400, {"message": "order_id must be an integer"})
    verbose = (query or {}).get("verbose", "").lower() in _TRUE
    return _json_response(200, get_order(order_id, verbose))


def plain_v2_get(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("routeKey") != "GET /orders/{order_id}":
        return _json_response(404, {"message": "Not Found"})
    return _get_by_hand(
        (event.get("pathParameters") or {}).get("order_id"), event.get("queryStringParameters")
    )


def _split_path(event: dict[str, Any], method_key: str) -> str | None:
    """The order id of ``GET /orders/{id}`` from the raw path, as an integration without routes needs."""
    method = (
        event.get(method_key) if method_key != "requestContext" else event["requestContext"]["http"]["method"]
    )
    path = event.get("rawPath") or event.get("path") or ""
    if method != "GET" or not path.startswith("/orders/") or path.count("/") != 2:
        return None
    return path[len("/orders/") :]


def plain_alb_get(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw_id = _split_path(event, "httpMethod")
    if raw_id is None:
        response = _json_response(404, {"message": "Not Found"})
    else:
        response = _get_by_hand(raw_id, event.get("queryStringParameters"))
    response["statusDescription"] = (
        f"{response['statusCode']} {'OK' if response['statusCode'] == 200 else 'Error'}"
    )
    return response


def plain_url_get(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw_id = _split_path(event, "requestContext")
    if raw_id is None:
        return _json_response(404, {"message": "Not Found"})
    return _get_by_hand(raw_id, event.get("queryStringParameters"))


def powertools_get(resolver: str, *, validation: bool) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from aws_lambda_powertools import event_handler

    app = getattr(event_handler, resolver)(enable_validation=validation)
    if validation:

        @app.get("/orders/<order_id>")
        def get_validated(order_id: int, verbose: bool = False) -> dict[str, Any]:
            return get_order(order_id, verbose)

    else:

        @app.get("/orders/<order_id>")
        def get_by_hand(order_id: str) -> dict[str, Any]:
            query = app.current_event.query_string_parameters or {}
            return get_order(int(order_id), query.get("verbose", "").lower() in _TRUE)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


def powertools_post_by_hand() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()

    @app.post("/orders")
    def create() -> dict[str, Any]:
        order = CreateOrder.model_validate_json(app.current_event.body or "")
        return create_order(order).model_dump()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


# -- SQS with the failure logged on every side -------------------------------------------------

_sqs_log = logging.getLogger("bench.plain_sqs")


def plain_sqs_logged(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            process(CreateOrder.model_validate_json(record["body"]))
        except Exception as error:
            _sqs_log.warning("record %s failed: %s", record["messageId"], error, exc_info=error)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


# -- end to end: adapter + cached secret + one metric ------------------------------------------


def end_to_end_pair(secret_client: Any, secret_name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(hand-written, lambda-kit): the same GET route reading a cached secret and writing one metric."""
    from lambda_kit.metrics import Metrics
    from lambda_kit.secrets import Secret

    secret = Secret(secret_name, client=secret_client).prefetch()
    metrics = Metrics(namespace="Bench", service="orders")

    def kit_route(order_id: int, verbose: bool = False) -> dict[str, Any]:
        metrics.add_metric("OrderRead", "Count", 1)
        return {"id": order_id, "verbose": verbose, "user": secret.value[:2]}

    kit = metrics.log_metrics(http({"GET /orders/{order_id}": kit_route}))

    cached = secret_client.get_secret_value(SecretId=secret_name)["SecretString"]

    def by_hand(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("routeKey") != "GET /orders/{order_id}":
            return _json_response(404, {"message": "Not Found"})
        try:
            order_id = int((event.get("pathParameters") or {}).get("order_id", ""))
        except ValueError:
            return _json_response(400, {"message": "order_id must be an integer"})
        verbose = (event.get("queryStringParameters") or {}).get("verbose", "").lower() in _TRUE
        line = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "Bench",
                        "Dimensions": [["service"]],
                        "Metrics": [{"Name": "OrderRead", "Unit": "Count"}],
                    }
                ],
            },
            "service": "orders",
            "OrderRead": 1,
        }
        print(json.dumps(line, separators=(",", ":")))
        return _json_response(200, {"id": order_id, "verbose": verbose, "user": cached[:2]})

    return by_hand, kit


# -- measurement -----------------------------------------------------------------------------


IMPORTS = {
    "lambda_kit.handler": "import lambda_kit.handler",
    "powertools APIGatewayRestResolver": (
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver"
    ),
    "powertools BatchProcessor": "from aws_lambda_powertools.utilities.batch import BatchProcessor",
    "pydantic": "import pydantic",
}


def import_ms(statement: str, *, preload: str = "", runs: int) -> list[float]:
    code = (
        f"{preload}\nimport time\nstart = time.perf_counter()\n{statement}\n"
        "print((time.perf_counter() - start) * 1000)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)  # cache bytecode
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
        )
        samples.append(float(done.stdout.strip()))
    return samples


# -- old against new: paired CPU-time rounds -----------------------------------------------


def load_baseline(revision: str, into: Path) -> Any:
    """The handler package of git ``revision``, importable as ``lk_baseline_handler``."""
    paths = ["lambda_kit/handler", "lambda_kit/_proxy_events.py"]
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", revision, *paths],  # noqa: S607 - git from PATH
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)  # noqa: S607 - tar from PATH
    package = into / "lk_baseline_handler"
    package.mkdir()
    sources = [
        *sorted((into / "lambda_kit" / "handler").glob("*.py")),
        into / "lambda_kit" / "_proxy_events.py",
    ]
    for source in sources:
        text = source.read_text()
        text = text.replace("lambda_kit.handler", "lk_baseline_handler")
        text = text.replace("lambda_kit._proxy_events", "lk_baseline_handler._proxy_events")

        def split(match: re.Match[str]) -> str:  # from lambda_kit import _proxy_events, lifecycle
            names = [name.strip() for name in match.group(2).split(",")]
            lines = [f"{match.group(1)}from lk_baseline_handler import _proxy_events"]
            rest = [name for name in names if name != "_proxy_events"]
            if rest:
                lines.append(f"{match.group(1)}from lambda_kit import {', '.join(rest)}")
            return "\n".join(lines)

        text = re.sub(
            r"^( *)from lambda_kit import ([^(\n]*\b_proxy_events\b[^\n]*)$", split, text, flags=re.M
        )
        (package / source.name).write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("lk_baseline_handler")


def paired(old: Callable[[Any, Any], Any], new: Callable[[Any, Any], Any], event: Any, rounds: int) -> str:
    """``new``'s CPU time over ``old``'s, per round; the median and spread, and the control's."""
    context = FakeContext(request_id="req-bench")
    for handler in (old, new):
        for _ in range(300):
            handler(event, context)
    start = time.thread_time()
    for _ in range(200):
        new(event, context)
    calls = max(50, int(200 * 0.010 / max(time.thread_time() - start, 1e-6)))  # ~10 ms per batch

    def batch(handler: Callable[[Any, Any], Any]) -> float:
        gc.collect()
        began = time.thread_time()
        for _ in range(calls):
            handler(event, context)
        return time.thread_time() - began

    ratios: list[float] = []
    control: list[float] = []
    for index in range(rounds):
        if index % 2:
            first, old_time, second = batch(new), batch(old), batch(new)
        else:
            old_time, first, second = batch(old), batch(new), batch(new)
        ratios.append(first / old_time)
        control.append(second / first)
    return (
        f"new/old {median(ratios):.4f} (IQR {percentile(ratios, 25):.4f}-{percentile(ratios, 75):.4f})  "
        f"control {median(control):.4f} (IQR {percentile(control, 25):.4f}-{percentile(control, 75):.4f})  "
        f"{calls} calls per batch"
    )


def compare_with(revision: str, rounds: int) -> int:
    import lambda_kit.handler as new

    def get_order(order_id: int, verbose: bool = False) -> dict[str, Any]:
        return {"id": order_id, "verbose": verbose}

    routes: dict[str, Callable[..., Any]] = {
        "POST /orders": create_order,
        "GET /orders/{order_id}": get_order,
    }
    query = {"verbose": "true"}
    scenarios = {
        "REST POST, JSON body": events.api_gateway_v1("POST", "/orders", body={"sku": "b", "quantity": 2}),
        "HTTP API GET, path + query": events.api_gateway_v2("GET", "/orders/42", query=query),
        "ALB GET, path + query": events.alb("GET", "/orders/42", query=query),
        "function URL GET, path + query": events.function_url("GET", "/orders/42", query=query),
    }
    with tempfile.TemporaryDirectory() as scratch:
        old = load_baseline(revision, Path(scratch))
        print(f"bench_handler --baseline {revision}: {rounds} paired rounds of thread CPU time")
        print(
            "(ratios < 1: this tree is faster; the control times this tree twice and must be 1.00 +/- 0.03)"
        )
        for label, event in scenarios.items():
            old_handler, new_handler = old.http(routes), new.http(routes)
            context = FakeContext(request_id="req-bench")
            assert old_handler(event, context) == new_handler(event, context), label
            print(f"  {label:32s} {paired(old_handler, new_handler, event, rounds)}")
        batch_event = events.sqs([{"sku": f"sku-{i}", "quantity": i} for i in range(10)])
        label = "SQS batch of 10"
        print(f"  {label:32s} {paired(old.sqs(process), new.sqs(process), batch_event, rounds)}")
    return 0


def _paired_section(
    out: Output,
    title: str,
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    target: float | None,
    unit: str = "invocation",
) -> dict[str, Any]:
    """Time ``contenders`` (the first is the plain bound) in paired rounds and print the ratios."""
    passes = paired_rounds(contenders, rounds=rounds, passes=2)
    control = control_summary(passes)
    names = list(contenders)
    plain, kit = names[0], names[1]
    out.line(title)
    out.line(f"  {control_line(control)}")
    figures: dict[str, Any] = {"control": control, "us_per_" + unit: {}, "ratios": {}}
    for name in names:
        microseconds = per_call_us(passes, name)
        figures["us_per_" + unit][name] = microseconds
        if name == plain:
            out.line(f"  {name:<44} {'/'.join(f'{v:.2f}' for v in microseconds):>16} us per {unit}")
            continue
        over_plain = paired_ratio(passes, name, plain)
        figures["ratios"][f"{name} / {plain}"] = over_plain
        note = ""
        if name == kit and target is not None:
            verdict_text = "PASS" if over_plain["worst"] <= target else "MISS"
            note = f"  target <= x{target}: {verdict_text}"
        elif name != kit:
            over_kit = paired_ratio(passes, name, kit)
            figures["ratios"][f"{name} / {kit}"] = over_kit
            note = f"  = x{over_kit['best']:.2f}-{over_kit['worst']:.2f} lambda-kit"
        out.line(
            f"  {name:<44} {'/'.join(f'{v:.2f}' for v in microseconds):>16} us  "
            f"x{over_plain['best']:.2f}-{over_plain['worst']:.2f} plain{note}"
        )
    figures["valid"] = all(control["holds"])
    out.line()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds; writes no result files")
    parser.add_argument("--baseline", metavar="REV", help="compare with git revision REV's adapters only")
    args = parser.parse_args()
    if args.baseline:
        return compare_with(args.baseline, 11 if args.quick else 41)
    rounds, import_runs = (5, 3) if args.quick else (21, 9)

    out = Output("bench_handler")
    info = machine_info(("lambda-perf-kit", "aws-lambda-powertools", "pydantic"))
    out.line("bench_handler: lambda_kit.handler vs a plain handler (lower bound) vs Powertools, by shape")
    for line in machine_lines(info):
        out.line(line)
    out.line(
        f"runs    : {rounds} paired rounds of thread CPU time x 2 passes per section; figures per pass "
        "(pass 1/pass 2); ratios per round, best-worst of the pass medians"
    )
    out.line()
    context = FakeContext(request_id="req-bench")
    record: dict[str, Any] = {"machine": info, "rounds": rounds, "sections": {}}
    query = {"verbose": "true"}
    post_event = events.api_gateway_v1(
        "POST", "/orders", body={"sku": "book-42", "quantity": 2, "note": "gift"}
    )
    shapes: dict[str, tuple[str, dict[str, Any], dict[str, Callable[[dict[str, Any], Any], Any]]]] = {
        "rest_post": (
            "REST API POST /orders, JSON body validated with pydantic, pydantic result",
            post_event,
            {
                "plain": plain_http,
                "lambda-kit http()": http({"POST /orders": create_order}),
                "powertools APIGatewayRestResolver (validation)": powertools_http(),
                "powertools APIGatewayRestResolver (pydantic by hand)": powertools_post_by_hand(),
            },
        ),
        "v2_get": (
            "HTTP API (2.0) GET /orders/{order_id}?verbose=true: int path parameter, bool query, no body",
            events.api_gateway_v2(
                "GET",
                "/orders/42",
                query=query,
                route_key="GET /orders/{order_id}",
                path_parameters={"order_id": "42"},
            ),
            {
                "plain": plain_v2_get,
                "lambda-kit http()": http({"GET /orders/{order_id}": get_order}),
                "powertools APIGatewayHttpResolver (validation)": powertools_get(
                    "APIGatewayHttpResolver", validation=True
                ),
                "powertools APIGatewayHttpResolver (by hand)": powertools_get(
                    "APIGatewayHttpResolver", validation=False
                ),
            },
        ),
        "alb_get": (
            "ALB GET /orders/42?verbose=true",
            events.alb("GET", "/orders/42", query=query),
            {
                "plain": plain_alb_get,
                "lambda-kit http()": http({"GET /orders/{order_id}": get_order}),
                "powertools ALBResolver (validation)": powertools_get("ALBResolver", validation=True),
                "powertools ALBResolver (by hand)": powertools_get("ALBResolver", validation=False),
            },
        ),
        "url_get": (
            "function URL GET /orders/42?verbose=true",
            events.function_url("GET", "/orders/42", query=query),
            {
                "plain": plain_url_get,
                "lambda-kit http()": http({"GET /orders/{order_id}": get_order}),
                "powertools LambdaFunctionUrlResolver (validation)": powertools_get(
                    "LambdaFunctionUrlResolver", validation=True
                ),
                "powertools LambdaFunctionUrlResolver (by hand)": powertools_get(
                    "LambdaFunctionUrlResolver", validation=False
                ),
            },
        ),
    }
    for key, (title, event, handlers) in shapes.items():
        bodies = {}
        for name, handler in handlers.items():  # every contender must answer alike before it is timed
            response = handler(event, context)
            assert response["statusCode"] == 200, (key, name, response)
            bodies[name] = json.loads(response["body"])
        assert all(body == bodies["plain"] for body in bodies.values()), (key, bodies)
        contenders = {name: functools.partial(handler, event, context) for name, handler in handlers.items()}
        record["sections"][key] = _paired_section(
            out, f"HTTP: {title}", contenders, rounds=rounds, target=1.3
        )

    # SQS: failures logged on both sides, into a handler that drops the record after formatting.
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run
    for name in ("lambda_kit.handler", "bench.plain_sqs"):
        logger = logging.getLogger(name)
        logger.addHandler(sink)
        logger.propagate = False
    sqs_series = {
        "plain loop": plain_sqs_logged,
        "lambda-kit sqs()": sqs(process),
        "powertools BatchProcessor": powertools_sqs(),
    }
    for label, failing in (("all 10 succeed", 0), ("1 of 10 fails, logged", 1)):
        sqs_event = events.sqs([{"sku": f"sku-{i}", "quantity": i - failing} for i in range(10)])
        for name, handler in sqs_series.items():
            result = handler(sqs_event, context)
            assert len(result["batchItemFailures"]) == failing, (name, result)
        contenders = {
            name: functools.partial(handler, sqs_event, context) for name, handler in sqs_series.items()
        }
        record["sections"][f"sqs_{failing}"] = _paired_section(
            out,
            f"SQS: batch of 10 records, {label}, pydantic validation",
            contenders,
            rounds=rounds,
            target=None,
            unit="batch",
        )

    # End to end, without a network call: the secret is fetched once (AWS stand-in) and cached.
    from lambda_kit_dev.stand_ins import AwsStandIn

    with AwsStandIn() as aws, open(os.devnull, "w") as devnull:
        client = aws.client("secretsmanager")
        client.create_secret(Name="bench/e2e", SecretString="user:secret")
        by_hand, kit = end_to_end_pair(client, "bench/e2e")
        e2e_event = events.api_gateway_v2(
            "GET",
            "/orders/42",
            query=query,
            route_key="GET /orders/{order_id}",
            path_parameters={"order_id": "42"},
        )
        stdout, sys.stdout = sys.stdout, devnull
        try:
            assert json.loads(by_hand(e2e_event, context)["body"]) == json.loads(
                kit(e2e_event, context)["body"]
            )
            record["sections"]["end_to_end"] = _paired_section(
                out,
                "End to end: HTTP API GET + a cached secret + one EMF metric (stdout to /dev/null)",
                {
                    "hand-written": functools.partial(by_hand, e2e_event, context),
                    "lambda-kit": functools.partial(kit, e2e_event, context),
                },
                rounds=rounds,
                target=1.3,
            )
        finally:
            sys.stdout = stdout

    out.line(f"Cold: import in a fresh interpreter, bytecode cached (ms, median of {import_runs})")
    imports: dict[str, Any] = {}
    for label, statement in IMPORTS.items():
        alone = import_ms(statement, runs=import_runs)
        after = import_ms(statement, preload="import awslambdaric.bootstrap", runs=import_runs)
        imports[label] = {"alone": summary(alone), "after_runtime": summary(after)}
        note = ""
        if label == "lambda_kit.handler":  # the runtime has json, logging, re, threading loaded
            note = f"target < 3 ms: {'PASS' if median(after) < 3.0 else 'MISS'}"
        out.line(value_line(f"{label} (alone)", median(alone)))
        out.line(value_line(f"{label} (runtime loaded)", median(after), note=note))
    out.line()
    record["imports_ms"] = imports
    worst = {
        key: section["ratios"]
        .get("lambda-kit http() / plain", section["ratios"].get("lambda-kit / hand-written", {}))
        .get("worst")
        for key, section in record["sections"].items()
        if not key.startswith("sqs")
    }
    import_loaded = imports["lambda_kit.handler"]["after_runtime"]["median"]
    shown = ", ".join(f"{key} x{value:.2f}" for key, value in worst.items() if value is not None)
    misses = [key for key, value in worst.items() if value is not None and value > 1.3]
    void = [key for key, section in record["sections"].items() if not section["valid"]]
    out.line(
        f"verdict : lambda-kit over plain (worst pass): {shown}; target <= x1.3: "
        f"{'PASS' if not misses else 'MISS (' + ', '.join(misses) + ')'}; import {import_loaded:.2f} ms "
        f"with the runtime loaded (target < 3 ms: {'PASS' if import_loaded < 3 else 'MISS'})"
        + (f"; VOID sections (control off by > 3 %): {', '.join(void)}" if void else "")
    )
    record["verdicts"] = {"worst_ratio_by_section": worst, "misses": misses, "void": void}
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
