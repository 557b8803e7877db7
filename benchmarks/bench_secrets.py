"""lambda_kit.secrets side by side with Powertools, aws-secretsmanager-caching and a dict.

* warm: one cached read per call, interleaved batches (order rotated each round):
  ``Secret.value`` (lambda-kit), Powertools ``parameters.get_secret`` cache hit,
  aws-secretsmanager-caching ``SecretCache.get_secret_string`` hit, and a plain dict
  lookup (the lower bound);
* cold: the import of each module in a fresh interpreter (median of several), with
  bytecode cached and compiled from source, and the first fetch against moto
  (fresh interpreter: import, client, GetSecretValue) beside plain boto3;
* API calls for 1,000 invocations in one environment: a GetSecretValue per
  invocation vs lambda-kit vs aws-secretsmanager-caching, counted on the client.

Secrets Manager is a moto server on 127.0.0.1 (lambda_kit_dev.emulator.AwsStandIn).

Usage (from the repository root)::

    python benchmarks/bench_secrets.py           # full run, writes benchmarks/results/
    python benchmarks/bench_secrets.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import subprocess
import sys
import tempfile
import timeit
from typing import Any

from _common import REPO_ROOT, Output, machine_info, machine_lines, summary, value_line

NAME = "bench_secrets"
SECRET_NAME = "bench/db"
SECRET_VALUE = '{"username": "app", "password": "bench-password"}'
TARGET_VALUE_US = 0.5
TARGET_VS_POWERTOOLS = 3.0
TARGET_VS_CACHING = 15.0
TARGET_IMPORT_MS = 2.0
PACKAGES = (
    "lambda-perf-kit",
    "aws-lambda-powertools",
    "aws-secretsmanager-caching",
    "boto3",
    "botocore",
    "moto",
)


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    env.update(extra or {})
    return env


# -- warm -------------------------------------------------------------------------------


def bench_warm(aws: Any, rounds: int, number: int) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    from lambda_kit.secrets import Secret

    secret = Secret(SECRET_NAME, client=aws.client("secretsmanager")).prefetch()
    cache = SecretCache(config=SecretCacheConfig(), client=aws.client("secretsmanager"))
    provider = parameters.SecretsProvider(boto3_client=aws.client("secretsmanager"))
    table = {SECRET_NAME: SECRET_VALUE}

    def powertools() -> Any:
        return provider.get(SECRET_NAME, max_age=3600)

    def caching() -> Any:
        return cache.get_secret_string(SECRET_NAME)

    # Every series returns the same value (and primes its cache here).
    assert secret.value == powertools() == caching() == table[SECRET_NAME] == SECRET_VALUE
    series: dict[str, tuple[str, dict[str, Any]]] = {
        "lambda-kit Secret.value": ("secret.value", {"secret": secret}),
        "Powertools get_secret (hit)": ("powertools()", {"powertools": powertools}),
        "aws-secretsmanager-caching (hit)": ("caching()", {"caching": caching}),
        "dict lookup (lower bound)": ("table[key]", {"table": table, "key": SECRET_NAME}),
    }
    samples: dict[str, list[float]] = {name: [] for name in series}
    timers = {name: timeit.Timer(stmt, globals=env) for name, (stmt, env) in series.items()}
    scale = {name: (number // 20 if "caching" in name else number) for name in series}  # ~40 µs per call
    for timer in timers.values():
        timer.timeit(1000)  # warm-up
    names = list(series)
    for turn in range(rounds):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        for name in order:
            gc.collect()
            count = scale[name]
            samples[name].append(timers[name].timeit(count) / count * 1e6)  # µs per call
    return {name: summary(values, 5) for name, values in samples.items()}


# -- cold -------------------------------------------------------------------------------

IMPORTS = {
    "lambda_kit.secrets": "import lambda_kit.secrets",
    "Powertools parameters": "from aws_lambda_powertools.utilities import parameters",
    "aws_secretsmanager_caching": "import aws_secretsmanager_caching",
    "boto3": "import boto3",
}


def _timed_import(statement: str, env: dict[str, str], flags: list[str]) -> float:
    code = (
        "import time\nstart = time.perf_counter()\n"
        f"{statement}\n"
        "print((time.perf_counter() - start) * 1000.0)"
    )
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def bench_imports(starts: int) -> dict[str, Any]:
    # Write the bytecode once (this machine sets PYTHONDONTWRITEBYTECODE), as a deployment
    # package that ships __pycache__ would have it.
    subprocess.run(
        [sys.executable, "-c", "import lambda_kit.secrets, lambda_kit._secrets_backends"],
        env={k: v for k, v in _clean_env().items() if k != "PYTHONDONTWRITEBYTECODE"},
        cwd=REPO_ROOT,
        check=True,
    )
    env = _clean_env({"PYTHONDONTWRITEBYTECODE": "1"})
    results: dict[str, list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as empty_prefix:
        source_flags = ["-X", f"pycache_prefix={empty_prefix}"]  # no .pyc found, none written
        for turn in range(starts):
            names = list(IMPORTS)
            order = names[turn % len(names) :] + names[: turn % len(names)]
            for name in order:
                results[f"{name} (cached .pyc)"].append(_timed_import(IMPORTS[name], env, []))
            results["lambda_kit.secrets (compiled from source)"].append(
                _timed_import(IMPORTS["lambda_kit.secrets"], env, source_flags)
            )
            results["lambda_kit.secrets + Secret() (cached .pyc)"].append(
                _timed_import("import lambda_kit.secrets as s; s.Secret('x')", env, [])
            )
    return {name: summary(values, 3) for name, values in results.items()}


FIRST_FETCH = {
    "lambda-kit Secret(...).prefetch()": (
        "from lambda_kit.secrets import Secret\nvalue = Secret(NAME).prefetch().value"
    ),
    "Powertools get_secret": (
        "from aws_lambda_powertools.utilities import parameters\nvalue = parameters.get_secret(NAME)"
    ),
    "aws-secretsmanager-caching": (
        "import boto3\nfrom aws_secretsmanager_caching import SecretCache\n"
        "value = SecretCache(client=boto3.client('secretsmanager')).get_secret_string(NAME)"
    ),
    "boto3 get_secret_value (lower bound)": (
        "import boto3\nvalue = boto3.client('secretsmanager').get_secret_value(SecretId=NAME)['SecretString']"
    ),
}


def bench_first_fetch(aws: Any, starts: int) -> dict[str, Any]:
    env = _clean_env({**aws.environ(), "PYTHONDONTWRITEBYTECODE": "1"})
    results: dict[str, list[float]] = collections.defaultdict(list)
    names = list(FIRST_FETCH)
    for turn in range(starts):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        for name in order:
            statement = f"NAME = {SECRET_NAME!r}\n{FIRST_FETCH[name]}\nassert value == {SECRET_VALUE!r}"
            results[name].append(_timed_import(statement, env, []))
    return {name: summary(values, 3) for name, values in results.items()}


# -- API calls --------------------------------------------------------------------------


def bench_api_calls(aws: Any, invocations: int) -> dict[str, dict[str, int]]:
    from aws_secretsmanager_caching import SecretCache

    from lambda_kit.secrets import Secret

    def counted() -> tuple[Any, collections.Counter[str]]:
        client = aws.client("secretsmanager")
        counter: collections.Counter[str] = collections.Counter()
        client.meta.events.register("before-call", lambda model, **_: counter.update([model.name]))
        return client, counter

    client, per_invocation = counted()
    for _ in range(invocations):
        client.get_secret_value(SecretId=SECRET_NAME)["SecretString"]

    client, lambda_kit_calls = counted()
    secret = Secret(SECRET_NAME, client=client).prefetch()  # INIT
    for _ in range(invocations):
        secret.json()["password"]

    client, caching_calls = counted()
    cache = SecretCache(client=client)
    for _ in range(invocations):
        cache.get_secret_string(SECRET_NAME)
    return {
        "GetSecretValue per invocation": dict(per_invocation),
        "lambda-kit Secret (INIT prefetch)": dict(lambda_kit_calls),
        "aws-secretsmanager-caching": dict(caching_calls),
    }


# -- report -----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations; results are not written")
    args = parser.parse_args(argv)
    rounds, number, starts, fetch_starts = (3, 20_000, 3, 2) if args.quick else (15, 200_000, 15, 7)

    from lambda_kit_dev.stand_ins import AwsStandIn

    out = Output(NAME)
    info = machine_info(PACKAGES)
    out.line(f"{NAME}: cached secret reads, import and first fetch, API calls per 1,000 invocations")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        f"runs    : warm {rounds} interleaved rounds ({number:,} reads per batch, caching peer 1/20), "
        f"imports {starts} fresh interpreters each, first fetch {fetch_starts} each"
        + (" (--quick)" if args.quick else "")
    )
    record: dict[str, Any] = {"machine": info, "quick": args.quick}
    with AwsStandIn() as aws:
        aws.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
        os.environ.update(aws.environ())  # Powertools' default client in this process, too
        warm = bench_warm(aws, rounds, number)
        imports = bench_imports(starts)
        first = bench_first_fetch(aws, fetch_starts)
        calls = bench_api_calls(aws, 1000)
    record.update({"warm_us": warm, "import_ms": imports, "first_fetch_ms": first, "api_calls_1000": calls})

    lk = warm["lambda-kit Secret.value"]["median"]
    pt = warm["Powertools get_secret (hit)"]["median"]
    sc = warm["aws-secretsmanager-caching (hit)"]["median"]
    bound = warm["dict lookup (lower bound)"]["median"]
    out.line()
    out.line("warm: one cached read (median µs per call, p10-p90)")
    for name, data in warm.items():
        out.line(
            value_line(
                name,
                data["median"],
                unit="µs",
                note=f"p10 {data['p10']:.4f}  p90 {data['p90']:.4f}  "
                f"x{data['median'] / bound:.1f} the dict lookup",
            )
        )
    out.line(f"  target .value median <= {TARGET_VALUE_US} µs: {lk:.4f} µs  {verdict(lk <= TARGET_VALUE_US)}")
    out.line(
        f"  target >= {TARGET_VS_POWERTOOLS:.0f}x faster than Powertools' hit: x{pt / lk:.1f}  "
        f"{verdict(pt / lk >= TARGET_VS_POWERTOOLS)}"
    )
    out.line(
        f"  target >= {TARGET_VS_CACHING:.0f}x faster than aws-secretsmanager-caching's hit: x{sc / lk:.1f}  "
        f"{verdict(sc / lk >= TARGET_VS_CACHING)}"
    )

    out.line()
    out.line("cold: import in a fresh interpreter (median ms)")
    for name, data in imports.items():
        out.line(value_line(name, data["median"], note=f"p10 {data['p10']:.3f}  p90 {data['p90']:.3f}"))
    imp = imports["lambda_kit.secrets (cached .pyc)"]["median"]
    out.line(
        f"  target import lambda_kit.secrets < {TARGET_IMPORT_MS} ms: {imp:.3f} ms  "
        f"{verdict(imp < TARGET_IMPORT_MS)}"
    )
    out.line()
    out.line(
        "cold: first fetch against moto in a fresh interpreter (import + client + GetSecretValue, median ms)"
    )
    for name, data in first.items():
        out.line(value_line(name, data["median"], note=f"p10 {data['p10']:.1f}  p90 {data['p90']:.1f}"))

    out.line()
    out.line("API calls for 1,000 invocations in one environment")
    for name, counts in calls.items():
        text = ", ".join(f"{op} {count}" for op, count in sorted(counts.items()))
        out.line(f"  {name:<46} {text}")
    per = calls["GetSecretValue per invocation"].get("GetSecretValue", 0)
    ours = calls["lambda-kit Secret (INIT prefetch)"].get("GetSecretValue", 0)
    out.line(
        f"  lambda-kit makes 1/{per // max(ours, 1)} of the calls  {verdict(ours == 1)} (target: exactly 1)"
    )

    if not args.quick:
        json_path, text_path = out.write(record)
        out.line(f"\nwrote {json_path.relative_to(REPO_ROOT)} and {text_path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
