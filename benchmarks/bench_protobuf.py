"""Protobuf responses through API Gateway: body sizes, encode and decode cost, import cost.

Two messages from tests/protos/orders.proto: a realistic order (20 line items) and
a large one (1,000 line items). For each:

* sizes: protobuf, protobuf as base64 (what Lambda returns), ProtoJSON, gzipped
  ProtoJSON and gzipped protobuf as base64;
* warm, per call, in paired rounds of CPU time (``_common.paired_rounds``: each round
  times every contender back to back on ``time.thread_time()``, the order rotated
  each round, ratios taken within the round; the bound timed twice as the
  identical-pair control, a pass off by more than 3 % is void; two passes, the worse
  quoted): ``encode_response`` (protobuf, REST v1 event with
  ``Accept: application/x-protobuf``) against the hand-written lower bound
  (``SerializeToString`` + ``b64encode`` + the response dict; target <= 1.3x), and,
  for context, ``json.dumps`` of the equivalent dict, ``encode_response`` choosing
  JSON, and the client's decode of each body (base64 + ``ParseFromString`` against
  ``json.loads``);
* cold (wall time, fresh interpreters, bytecode cached, bare and after the modules
  the Python runtime has loaded, interleaved): ``import lambda_kit.protobuf``, then
  the generated module (the protobuf runtime), then the first JSON response (which
  imports ``google.protobuf.json_format``).

No peer runs: Powertools for AWS Lambda (Python) has no protobuf response support
or Accept negotiation, and middy (which negotiates) is JavaScript.

Usage (from the repository root)::

    python benchmarks/bench_protobuf.py           # full run, writes benchmarks/results/
    python benchmarks/bench_protobuf.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from _common import (
    REPO_ROOT,
    RUNTIME_PRELOAD,
    Output,
    bytecode_env,
    control_line,
    control_summary,
    load_now,
    machine_info,
    machine_lines,
    paired_ratio,
    paired_rounds,
    per_call_us,
    ratio_claim,
    ratio_text,
    summary,
    value_claim,
    value_line,
    verdict_summary,
)

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

BOUND, ENCODE = "hand-written bound", "encode_response (protobuf)"
DUMPS, ENCODE_JSON = "json.dumps of the same dict", "encode_response (JSON)"
DECODE_PB, DECODE_JSON = "client: b64decode + ParseFromString", "client: json.loads"


def contenders(order: orders_pb2.Order) -> dict[str, Callable[[], object]]:
    """The calls timed, the bound first (the control times it twice per round)."""
    codec = ProtobufCodec()
    pb_event = rest_event(PROTOBUF)
    json_event = rest_event("application/json")
    as_dict = json_format.MessageToDict(order)
    pb_response = codec.encode_response(order, pb_event)
    json_body = codec.encode_response(order, json_event)["body"]
    b64encode, b64decode, dumps, loads = base64.b64encode, base64.b64decode, json.dumps, json.loads

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
            "body": dumps(as_dict, separators=(",", ":")),
            "isBase64Encoded": False,
        }

    # The same answer before timing (the bound sets no Vary: it does not negotiate).
    if any(lower_bound()[key] != pb_response[key] for key in ("statusCode", "body", "isBase64Encoded")):
        raise RuntimeError(f"encode_response answered otherwise than the bound: {pb_response!r:.300}")
    pb_body = pb_response["body"]
    return {
        BOUND: lower_bound,
        ENCODE: lambda: codec.encode_response(order, pb_event),
        DUMPS: json_dumps,
        ENCODE_JSON: lambda: codec.encode_response(order, json_event),
        DECODE_PB: lambda: orders_pb2.Order.FromString(b64decode(pb_body)),
        DECODE_JSON: lambda: loads(json_body),
    }


# -- cold -------------------------------------------------------------------------------


_COLD_CODE = """
{preload}
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
COLD_PARTS = (
    "import lambda_kit.protobuf",
    "import orders_pb2 (protobuf runtime + gencode)",
    "first JSON response",
)
COLD_MODES = {"bare": "", "runtime loaded": RUNTIME_PRELOAD}


def bench_cold(runs: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds of each part, per mode (bare, runtime loaded), modes interleaved run by run."""
    env = bytecode_env()
    protos = str(REPO_ROOT / "tests" / "protos")
    found: dict[str, dict[str, list[float]]] = {
        mode: {part: [] for part in COLD_PARTS} for mode in COLD_MODES
    }
    modes = list(COLD_MODES)
    for turn in range(runs + 1):  # the first round writes the bytecode caches, unmeasured
        for mode in modes[turn % 2 :] + modes[: turn % 2]:
            code = _COLD_CODE.format(preload=COLD_MODES[mode], protos=protos)
            done = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO_ROOT,
                check=True,
            )
            if turn:
                for part, value in zip(COLD_PARTS, done.stdout.split(), strict=True):
                    found[mode][part].append(float(value))
    return found


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; writes no results")
    args = parser.parse_args(argv)
    rounds, batch_seconds, cold_runs = (3, 0.002, 3) if args.quick else (15, 0.01, 9)

    out = Output(NAME)
    info = machine_info(("lambda-perf-kit", "protobuf", "grpcio-tools"))
    out.line(f"{NAME}: protobuf responses: body sizes, encode and decode cost, import cost")
    for line in machine_lines(info):
        out.line(line)
    out.line(
        f"runs    : warm 2 passes x {rounds} paired rounds of CPU time "
        f"(batches of ~{batch_seconds * 1000:g} ms "
        f"per contender, order rotated each round); cold {cold_runs} fresh interpreters per mode, interleaved"
        + (" (--quick)" if args.quick else "")
    )
    out.line(
        "peers   : none run (Powertools has no protobuf responses or Accept negotiation; middy is JavaScript)"
    )
    claims: list[dict[str, Any]] = []
    messages: dict[str, Any] = {}
    measure = "CPU time per call, paired rounds, worse pass quoted"
    for label, items in (("order, 20 items", 20), ("order, 1,000 items", 1000)):
        order = make_order(items)
        measured = sizes(order)
        out.line()
        out.line(f"{label}")
        out.line("  sizes (bytes):")
        for name, size in measured.items():
            out.line(f"    {name:<24} {size:>9,}  ({size / measured['json']:5.2f}x JSON)")
        passes = paired_rounds(contenders(order), rounds=rounds, batch_seconds=batch_seconds)
        control = control_summary(passes)
        us = {name: per_call_us(passes, name) for name in passes[0]}
        ratios = {
            f"{ENCODE} / {BOUND}": paired_ratio(passes, ENCODE, BOUND),
            f"{DUMPS} / {ENCODE}": paired_ratio(passes, DUMPS, ENCODE),
            f"{ENCODE_JSON} / {ENCODE}": paired_ratio(passes, ENCODE_JSON, ENCODE),
            f"{DECODE_JSON} / {DECODE_PB}": paired_ratio(passes, DECODE_JSON, DECODE_PB),
        }
        out.line("  warm, CPU per call (median per pass):")
        out.line("  " + control_line(control))
        for name in (BOUND, ENCODE, DUMPS, ENCODE_JSON, DECODE_PB, DECODE_JSON):
            out.line(value_line(name, max(us[name]), unit="us", note=f"passes {us[name]}"))
        shape = f"{label}: protobuf body {measured['protobuf_base64']:,} B base64, REST API v1 event"
        for key, ratio in ratios.items():
            target = RATIO_TARGET if key.startswith(ENCODE) else None
            out.line(ratio_text(key, ratio, target))
            # The context ratios are "x times the protobuf path": quote the pass least in its favour.
            claims.append(
                ratio_claim(
                    key,
                    ratio,
                    control,
                    shape=shape,
                    measure=measure,
                    target=target,
                    at_least=target is None,
                    chart=None  # x50 and more would flatten the other bars
                    if key.startswith(ENCODE_JSON)
                    else ("encode and decode" if target is None else "encode_response against the bound"),
                )
            )
        messages[label] = {
            "items": items,
            "sizes": measured,
            "control": control,
            "us_per_call": us,
            "ratios": ratios,
            "ratio": ratios[f"{ENCODE} / {BOUND}"]["worst"],
        }

    cold = bench_cold(cold_runs)
    out.line()
    out.line(f"cold: wall time in a fresh interpreter, bytecode cached, median of {cold_runs} (ms)")
    for mode, parts in cold.items():
        for part, values in parts.items():
            note = f"({mode}{', after ' + RUNTIME_PRELOAD if COLD_MODES[mode] else ''})"
            out.line(value_line(f"{part}, {mode}", summary(values)["median"], note=note))
            claims.append(
                value_claim(
                    f"{part} (ms, {mode})",
                    values,
                    shape="fresh interpreter, bytecode cached"
                    + (f", after {RUNTIME_PRELOAD}" if COLD_MODES[mode] else ""),
                    measure=f"wall time, median of {cold_runs} interleaved starts",
                    unit="ms",
                )
            )

    out.line()
    end_load = load_now()
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    out.line(verdict_summary(claims))
    record = {
        "bench": NAME,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "settings": {"rounds": rounds, "passes": 2, "batch_seconds": batch_seconds, "cold_runs": cold_runs},
        "units": {"us_per_call": "CPU us per call (median per pass)", "cold_ms": "ms wall"},
        "target_ratio": RATIO_TARGET,
        "messages": messages,
        "cold_ms": {
            mode: {part: summary(values, 3) for part, values in parts.items()} for mode, parts in cold.items()
        },
        "claims": claims,
    }
    out.finish(record, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
