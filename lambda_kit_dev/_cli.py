"""The ``lambda-kit`` command line (internal; entry point ``lambda_kit_dev.__main__``).

Exit status: 0 when every invocation succeeded, 1 when one failed (``bench`` still
prints the figures of those that succeeded), 2 for a usage or configuration error.
Every ``--json`` document is strict JSON: a missing or non-finite figure is ``null``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from lambda_kit.exceptions import LambdaKitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _load_event(path: str | None) -> Any:
    if path is None:
        return {}
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read --event {path!r}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--event {path!r} is not JSON: {error}") from None


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity (no JSON form) replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def strict_json(document: Any) -> str:
    """``document`` as strict JSON (RFC 8259): never ``NaN`` or ``Infinity``."""
    return json.dumps(_finite(document), indent=2, allow_nan=False, default=str)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambda-kit",
        description="Run AWS Lambda handlers locally under the real runtime client.",
        epilog="Exit status: 0 when every invocation succeeded, 1 when one failed, 2 for a usage "
        "or configuration error. --json prints strict JSON, with null for a missing figure.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("handler", metavar="MODULE.HANDLER", help="the handler, e.g. app.handler")
        sub.add_argument("--event", metavar="FILE", help="JSON event file ('-' for stdin); {} by default")
        sub.add_argument("--memory", type=int, default=128, metavar="MB", help="memory size (default 128)")
        sub.add_argument(
            "--timeout", type=float, default=30.0, metavar="S", help="timeout in seconds (default 30)"
        )
        sub.add_argument(
            "--env", action="append", default=[], metavar="K=V", help="environment variable (repeatable)"
        )
        sub.add_argument("--task-root", metavar="DIR", help="the handler's code directory (default: .)")
        sub.add_argument("--aws", action="store_true", help="start a moto stand-in for AWS on 127.0.0.1")
        sub.add_argument("--json", action="store_true", help="print machine-readable JSON")

    bench = commands.add_parser(
        "bench",
        help="measure cold and warm cost and project throttling",
        epilog="Figures come from the invocations that succeeded. When one fails, the report "
        "says how many and the exit status is 1; when all fail, there are no figures (null in "
        "--json) and no projection.",
    )
    common(bench)
    bench.add_argument("--cold", type=int, default=5, metavar="N", help="cold starts (default 5)")
    bench.add_argument("--warm", type=int, default=50, metavar="M", help="warm invocations (default 50)")
    bench.add_argument(
        "--rps", type=float, default=6000.0, metavar="R", help="request rate to project (default 6000)"
    )
    bench.add_argument("--no-import-profile", action="store_true", help="skip the -X importtime cold start")

    invoke = commands.add_parser("invoke", help="invoke once and print the log and the response")
    common(invoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        env = _parse_env(args.env)
        event = _load_event(args.event)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    try:
        if args.command == "bench":
            return _bench(args, env, event)
        return _invoke(args, env, event)
    except LambdaKitError as error:
        print(f"lambda-kit: error: {error}", file=sys.stderr)
        return 2


def _bench(args: argparse.Namespace, env: dict[str, str], event: Any) -> int:
    from lambda_kit_dev.bench import Progress, format_report, run_bench

    progress = Progress(sys.stderr)
    try:
        result = run_bench(
            args.handler,
            event,
            cold=args.cold,
            warm=args.warm,
            memory_mb=args.memory,
            timeout_s=args.timeout,
            env=env,
            task_root=args.task_root,
            aws=args.aws,
            rps=args.rps,
            profile_imports=not args.no_import_profile,
            progress=progress,
        )
    finally:
        progress.close()
    if args.json:
        print(strict_json(result.to_dict()))
    else:
        print(format_report(result), end="")
    return 1 if result.failed else 0


def _invoke(args: argparse.Namespace, env: dict[str, str], event: Any) -> int:
    from lambda_kit_dev.emulator import Emulator

    with Emulator(
        args.handler,
        task_root=args.task_root,
        memory_mb=args.memory,
        timeout_s=args.timeout,
        env=env,
        aws=args.aws,
    ) as function:
        invocation = function.invoke(event)
    if args.json:
        document = {
            "payload": invocation.payload.decode("utf-8", "replace"),
            "error": invocation.error,
            "log": invocation.log,
            "report": invocation.report.__dict__,
        }
        print(strict_json(document))
    else:
        sys.stderr.write(invocation.log)
        sys.stdout.write(invocation.payload.decode("utf-8", "replace") + "\n")
    return 0 if invocation.ok else 1
