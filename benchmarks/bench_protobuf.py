"""Protobuf responses through API Gateway: body sizes, encode and decode cost, import cost.

Two messages from tests/protos/orders.proto: a realistic order (20 line items) and
a large one (1,000 line items). For each:

* sizes: protobuf, protobuf as base64 (what Lambda returns), ProtoJSON, gzipped
  ProtoJSON and gzipped protobuf as base64;
* warm, per call, interleaved: ``encode_response`` (protobuf, REST v1 event with
  ``Accept: application/x-protobuf``) against the hand-written lower bound
  (``SerializeToString`` + ``b64encode`` + the response dict; target <= 1.3x), and,
  for context, ``json.dumps`` of the equivalent dict, ``encode_response`` choosing
  JSON, and the client's decode of each body (base64 + ``ParseFromString`` against
  ``json.loads``);
* cold: ``import lambda_kit.protobuf`` in a fresh interpreter, and the first JSON
  response (which imports ``google.protobuf.json_format``).

No peer runs: Powertools for AWS Lambda (Python) has no protobuf response support
or Accept negotiation, and middy (which negotiates) is JavaScript.

Usage (from the repository root)::

    python benchmarks/bench_protobuf.py           # full run, writes benchmarks/results/
    python benchmarks/bench_protobuf.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import base64
import gc
import gzip
import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, median, ratio_line, summary, value_line

if TYPE_CHECKING:
    from collections.abc import Callable

sys.path.insert(0, str(REPO_ROOT / "tests" / "protos"))

import orders_pb2
from google.protobuf import json_format

from lambda_kit.protobuf import ProtobufCodec

NAME = "bench_protobuf"
RATIO_TARGET = 1.3  # from the issue: encode_response <= 1.3x the hand-written lower bound
PROTOBUF = "application/x-protobuf"


def make_order(items: int) -> orders_pb2.Order:
    """An order as a shop API returns it, with ``items`` line items."""
    order = orders_pb2.Order(
        order_id="ord_01JD8Q3W7XK2M9",
        customer_id="cus_4f9a2b71",
        status=orders_pb2.ORDER_STATUS_PAID,
        created_at_unix_ms=1795784400123,
        metadata={"channel": "web", "campaign": "black-friday", "locale": "en-GB"},
        coupon_code="BF2026",
    )
    address = order.shipping_address
    address.name = "Ada Lovelace"
    address.lines.extend(["12 Analytical Row", "Flat 3"])
    address.city, address.postal_code, address.country_code = "London", "NW1 6XE", "GB"
    total = 0
    for index in range(items):
        quantity = index % 4 + 1
        units = 5 + (index * 37) % 200
        item = order.items.add(
            sku=f"SKU-{index:06d}",
            title=f"Organic cotton T-shirt, size {'SMLX'[index % 4]}",
            quantity=quantity,
        )
        item.unit_price.currency_code = "EUR"
        item.unit_price.units = units
        item.unit_price.nanos = 990_000_000
        item.line_total.currency_code = "EUR"
        item.line_total.units = units * quantity
        item.tags.extend(["sale", "organic"] if index % 3 == 0 else ["new"])
        total += units * quantity
    for money, units in ((order.subtotal, total), (order.shipping, 5), (order.total, total + 5)):
        money.currency_code = "EUR"
        money.units = units
    return order


def rest_event(accept: str) -> dict[str, Any]:
    """A REST API (v1) GET with the headers a client sends."""
    headers = {
        "Accept": accept,
        "Accept-Encoding": "gzip, deflate, br",
        "Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
        "User-Agent": "orders-client/2.4",
        "X-Amzn-Trace-Id": "Root=1-6745c1a0-1f2e3d4c5b6a79880f1e2d3c",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": "/orders/{id}",
        "path": "/orders/ord_01JD8Q3W7XK2M9",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"id": "ord_01JD8Q3W7XK2M9"},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "stage": "prod",
            "httpMethod": "GET",
            "apiId": "abcdef1234",
        },
        "body": None,
        "isBase64Encoded": False,
    }


# -- sizes ------------------------------------------------------------------------------


def sizes(order: orders_pb2.Order) -> dict[str, int]:
    raw = order.SerializeToString()
    as_json = json.dumps(json_format.MessageToDict(order), separators=(",", ":")).encode()
    return {
        "protobuf": len(raw),
        "protobuf_base64": len(base64.b64encode(raw)),
        "json": len(as_json),
        "json_gzip": len(gzip.compress(as_json, 6)),
        "json_gzip_base64": len(base64.b64encode(gzip.compress(as_json, 6))),
        "protobuf_gzip_base64": len(base64.b64encode(gzip.compress(raw, 6))),
    }


# -- warm -------------------------------------------------------------------------------


def timed(func: Callable[[], object], count: int) -> float:
    """Mean µs per call over ``count`` calls."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(count):
            func()
        return (time.perf_counter_ns() - start) / count / 1000
    finally:
        if gc_was_enabled:
            gc.enable()


def bench_warm(order: orders_pb2.Order, rounds: int, batch: int) -> dict[str, list[float]]:
    codec = ProtobufCodec()
    pb_event = rest_event(PROTOBUF)
    json_event = rest_event("application/json")
    as_dict = json_format.MessageToDict(order)
    pb_body = codec.encode_response(order, pb_event)["body"]
    json_body = codec.encode_response(order, json_event)["body"]
    b64encode = base64.b64encode

    def lower_bound() -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": PROTOBUF},
            "body": b64encode(order.SerializeToString()).decode(),
            "isBase64Encoded": True,
        }

    def json_dumps() -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(as_dict, separators=(",", ":")),
            "isBase64Encoded": False,
        }

    tasks: list[tuple[str, Callable[[], object]]] = [
        ("encode_response", lambda: codec.encode_response(order, pb_event)),
        ("lower_bound", lower_bound),
        ("json_dumps_dict", json_dumps),
        ("encode_response_json", lambda: codec.encode_response(order, json_event)),
        ("client_decode_protobuf", lambda: orders_pb2.Order.FromString(base64.b64decode(pb_body))),
        ("client_decode_json", lambda: json.loads(json_body)),
    ]
    # The JSON encodes are ~100x slower than the binary ones: fewer calls per batch.
    slow = {"encode_response_json"}
    series: dict[str, list[float]] = {name: [] for name, _ in tasks}
    for _name, func in tasks:  # warm-up
        timed(func, max(1, batch // 10))
    for turn in range(rounds):
        shift = turn % len(tasks)
        for name, func in tasks[shift:] + tasks[:shift]:
            count = max(1, batch // 50) if name in slow else batch
            series[name].append(timed(func, count))
    return series


# -- cold -------------------------------------------------------------------------------


_COLD_CODE = """
import sys, time
sys.path.insert(0, {protos!r})
start = time.perf_counter()
import lambda_kit.protobuf
imported = time.perf_counter()
import orders_pb2
loaded = time.perf_counter()
from lambda_kit.protobuf import encode_response
event = {{"version": "2.0", "headers": {{"accept": "application/json"}}, "requestContext": {{}}}}
first = time.perf_counter()
encode_response(orders_pb2.OrderQuery(order_id="a"), event)
done = time.perf_counter()
print((imported - start) * 1000, (loaded - imported) * 1000, (done - first) * 1000)
"""


def bench_cold(runs: int) -> dict[str, list[float]]:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    code = _COLD_CODE.format(protos=str(REPO_ROOT / "tests" / "protos"))
    series: dict[str, list[float]] = {
        "import_lambda_kit_protobuf": [],
        "import_orders_pb2": [],
        "first_json": [],
    }
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        imported, loaded, first = (float(part) for part in done.stdout.split())
        series["import_lambda_kit_protobuf"].append(imported)
        series["import_orders_pb2"].append(loaded)
        series["first_json"].append(first)
    return series


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; writes no results")
    args = parser.parse_args(argv)
    rounds, batch, cold_runs = (3, 200, 3) if args.quick else (25, 2000, 9)

    out = Output(NAME)
    info = machine_info(("lambda-perf-kit", "protobuf", "grpcio-tools"))
    out.line(f"{NAME}: protobuf responses ({'quick' if args.quick else 'full'} run)")
    for line in machine_lines(info):
        out.line(line)
    out.line(
        "peers: none run (Powertools has no protobuf responses or Accept negotiation; middy is JavaScript)"
    )
    record: dict[str, Any] = {"machine": info, "target_ratio": RATIO_TARGET, "messages": {}}
    verdicts: list[bool] = []

    for label, items in (("order, 20 items", 20), ("order, 1,000 items", 1000)):
        order = make_order(items)
        measured = sizes(order)
        out.line()
        out.line(f"{label}")
        out.line("  sizes (bytes):")
        for name, size in measured.items():
            ratio = size / measured["json"]
            out.line(f"    {name:<24} {size:>9,}  ({ratio:5.2f}x JSON)")
        item_batch = batch if items <= 20 else max(10, batch // 40)
        series = bench_warm(order, rounds, item_batch)
        medians = {name: median(values) for name, values in series.items()}
        bound = medians["lower_bound"]
        out.line("  warm, per call (median of batch means):")
        out.line(
            ratio_line(
                "encode_response (protobuf)",
                medians["encode_response"],
                bound,
                target=bound * RATIO_TARGET,
                unit="us",
            )
        )
        out.line(f"    ratio x{medians['encode_response'] / bound:.2f} vs target <= x{RATIO_TARGET}")
        out.line(value_line("lower bound: Serialize+b64encode+dict", bound, unit="us"))
        out.line(value_line("json.dumps of the equivalent dict", medians["json_dumps_dict"], unit="us"))
        out.line(
            value_line("encode_response (JSON via json_format)", medians["encode_response_json"], unit="us")
        )
        out.line(
            value_line(
                "client decode: b64decode + ParseFromString", medians["client_decode_protobuf"], unit="us"
            )
        )
        out.line(value_line("client decode: json.loads", medians["client_decode_json"], unit="us"))
        verdicts.append(medians["encode_response"] <= bound * RATIO_TARGET)
        record["messages"][label] = {
            "items": items,
            "sizes": measured,
            "warm_us": {name: summary(values, 3) for name, values in series.items()},
            "ratio": round(medians["encode_response"] / bound, 3),
        }

    cold = bench_cold(cold_runs)
    out.line()
    out.line(f"cold (fresh interpreter, median of {cold_runs}):")
    out.line(value_line("import lambda_kit.protobuf", median(cold["import_lambda_kit_protobuf"])))
    out.line(value_line("import orders_pb2 (protobuf runtime + gencode)", median(cold["import_orders_pb2"])))
    out.line(value_line("first JSON response (imports json_format)", median(cold["first_json"])))
    record["cold_ms"] = {name: summary(values, 3) for name, values in cold.items()}
    out.line()
    out.line(f"summary: {sum(verdicts)}/{len(verdicts)} ratio targets met")
    if not args.quick:
        json_path, text_path = out.write(record)
        out.line(f"wrote {json_path.relative_to(REPO_ROOT)} and {text_path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
