"""``make demo``: the naive, the plain and the tuned example, benched side by side.

Starts a moto stand-in for AWS on 127.0.0.1 and stores the demo database secret in
it, starts a local HTTPS inventory service the handlers call, then runs each handler
under the emulator (the real awslambdaric runtime client): cold starts, warm
invocations, the AWS calls each makes, and what would throttle at 6,000 requests/s.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from lambda_kit_dev.bench import BenchResult, Progress, format_comparison, format_report, run_bench
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer
from lambda_kit_dev.stand_ins._tls import temporary_certificate

HERE = Path(__file__).resolve().parent
EXAMPLES = ("naive", "plain", "tuned")


def main(cold: int = 5, warm: int = 50) -> int:
    event = json.loads((HERE / "events" / "api_gateway_get.json").read_text())
    results: list[BenchResult] = []
    cert, key, cert_dir = temporary_certificate(rsa=True)  # a downstream with a typical RSA certificate
    with cert_dir, TLSServer(cert, key) as inventory, AwsStandIn() as aws:
        document = {"username": "app", "password": secrets.token_urlsafe(24)}
        aws.client("secretsmanager").create_secret(Name="demo/db", SecretString=json.dumps(document))
        for name in EXAMPLES:
            progress = Progress(sys.stderr)
            try:
                result = run_bench(
                    "app.handler",
                    event,
                    cold=cold,
                    warm=warm,
                    task_root=str(HERE / name),
                    aws=aws,
                    env={
                        "DB_SECRET_ID": "demo/db",
                        "INVENTORY_URL": inventory.base_url,
                        "INVENTORY_CA_BUNDLE": cert,
                    },
                    label=f"examples/{name}",
                    progress=progress,
                )
            finally:
                progress.close()
            print(format_report(result))
            results.append(result)
    print("Side by side:")
    print(format_comparison(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
