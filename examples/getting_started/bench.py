"""Bench the tutorial's two functions under the emulator, with AWS and the warehouse on loopback.

Run it from this directory: ``python bench.py`` (``--cold`` and ``--warm`` to change the
counts). It starts the AWS stand-in, creates the warehouse's secret in it, starts the
warehouse stand-in, then runs each handler under the real runtime client and prints
what Lambda's REPORT lines would add up to, per cold and per warm invocation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lambda_kit_dev.bench import format_report, run_bench
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer

HERE = Path(__file__).resolve().parent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--cold", type=int, default=5, help="cold starts per function (default 5)")
    parser.add_argument("--warm", type=int, default=50, help="warm invocations per function (default 50)")
    args = parser.parse_args(argv)
    failed = 0
    with AwsStandIn() as aws, TLSServer(tls=False) as warehouse:
        secrets = aws.client("secretsmanager")
        secrets.create_secret(Name="shop/warehouse", SecretString=json.dumps({"api_key": "bench-key"}))
        for handler, event_file in (
            ("app.handler", "create_order.json"),
            ("consumer.handler", "shipments.json"),
        ):
            event = json.loads((HERE / "events" / event_file).read_text())
            result = run_bench(
                handler,
                event,
                cold=args.cold,
                warm=args.warm,
                task_root=str(HERE),
                aws=aws,
                env={"WAREHOUSE_URL": warehouse.base_url},
                profile_imports=False,
            )
            print(format_report(result))
            failed += result.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
