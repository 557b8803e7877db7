"""The ``lambda-kit`` command line (internal; entry point ``lambda_kit_dev.__main__``).

Exit status: 0 when every invocation succeeded, 1 when one failed (``bench`` still
prints the figures of those that succeeded), 2 for a usage or configuration error.
Every ``--json`` document is strict JSON: a missing or non-finite figure is ``null``.

A function's settings come from the options, else from a SAM template's function
(``--template FILE --function NAME``, see :mod:`lambda_kit_dev._sam`), else the
defaults: an option given on the command line always wins, and ``--env`` variables
are added to (and replace) the template's.
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

    from lambda_kit_dev.stand_ins import AwsStandIn


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    return _parse_pairs(pairs, "--env", "KEY=VALUE")


def load_event(path: str | None) -> Any:
    """The JSON event in ``path`` (``-`` for stdin; ``{}`` for None)."""
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


def add_function_arguments(sub: argparse.ArgumentParser) -> None:
    """The options that say which function runs and how (handler, event, memory, template...).

    Shared by every command that runs a function; :func:`function_settings` reads them.
    """
    sub.add_argument(
        "handler",
        nargs="?",
        metavar="MODULE.HANDLER",
        help="the handler, e.g. app.handler (or the template function's Handler)",
    )
    sub.add_argument("--event", metavar="FILE", help="JSON event file ('-' for stdin); {} by default")
    sub.add_argument("--memory", type=int, metavar="MB", help="memory size (default: the template's, or 128)")
    sub.add_argument(
        "--limits",
        action="store_true",
        help="Lambda's CPU share for --memory (memory/1769 vCPUs) and its memory limit, through "
        "Linux cgroups; said on stderr where they cannot be applied (LAMBDA_KIT_LIMITS=1 does the same)",
    )
    sub.add_argument(
        "--timeout", type=float, metavar="S", help="timeout in seconds (default: the template's, or 30)"
    )
    sub.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="environment variable (repeatable)"
    )
    sub.add_argument(
        "--task-root", metavar="DIR", help="the handler's code directory (default: CodeUri, or .)"
    )
    sub.add_argument(
        "--python",
        metavar="VERSION|PATH",
        help="the runtime's Python: a version (3.12: Lambda's runtime, prepared once under the "
        "user cache directory) or an interpreter's path (default: the template's Runtime, or "
        "this interpreter)",
    )
    sub.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="ZIP|DIR",
        help="a Lambda layer, laid out as /opt (repeatable, in order; replaces the template's)",
    )
    sub.add_argument("--function-name", metavar="NAME", help="AWS_LAMBDA_FUNCTION_NAME")
    sub.add_argument("--template", metavar="FILE", help="a SAM template (or .aws-sam/build/template.yaml)")
    sub.add_argument("--function", metavar="NAME", help="the template's function (its logical ID)")
    sub.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (repeatable)",
    )
    sub.add_argument(
        "--aws",
        action="store_true",
        help="start an AWS stand-in (moto's server on 127.0.0.1) for the function",
    )
    sub.add_argument(
        "--aws-seed",
        metavar="FILE",
        help="secrets and parameters to create in the AWS stand-in, a JSON or YAML file "
        "(see docs/testing.md); implies --aws",
    )
    sub.add_argument(
        "--aws-endpoint",
        metavar="URL",
        help="use a running AWS stand-in, e.g. a moto server at http://127.0.0.1:5000, instead of "
        "starting one (the function gets its URL in AWS_ENDPOINT_URL, and dummy credentials)",
    )
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")


# Commands that live in their own module: name -> (module, help). Each module has
# ``add_arguments(parser, name)`` and ``run(args) -> int`` (the exit status); a command
# that runs a function calls :func:`add_function_arguments` and :func:`function_settings`.
_MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "layer": ("lambda_kit_dev.layer", "build a Lambda layer of lambda-kit for a runtime"),
    "bundle": ("lambda_kit_dev.layer", "build a function's deployment package for a runtime"),
    "load": ("lambda_kit_dev.load", "drive a function at a request rate, scaled as Lambda scales it"),
    "logs": ("lambda_kit_dev.logs", "analyse Lambda's REPORT lines: concurrency, cost, right-sizing"),
    "filter": ("lambda_kit_dev.filters", "apply event-source-mapping FilterCriteria to events"),
    "tune": ("lambda_kit_dev.tune", "duration and cost at each memory size, with Lambda's CPU share"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambda-kit",
        description="Run AWS Lambda handlers locally under the real runtime client.",
        epilog="Exit status: 0 when every invocation succeeded, 1 when one failed, 2 for a usage "
        "or configuration error. --json prints strict JSON, with null for a missing figure.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    bench = commands.add_parser(
        "bench",
        help="measure cold and warm cost and project throttling",
        epilog="Figures come from the invocations that succeeded. When one fails, the report "
        "says how many and the exit status is 1; when all fail, there are no figures (null in "
        "--json) and no projection.",
    )
    add_function_arguments(bench)
    bench.add_argument("--cold", type=int, default=5, metavar="N", help="cold starts (default 5)")
    bench.add_argument("--warm", type=int, default=50, metavar="M", help="warm invocations (default 50)")
    bench.add_argument(
        "--rps",
        type=float,
        default=6000.0,
        metavar="R",
        help="requests (invocations) per second to project (default 6000); for an SQS, Kinesis, "
        "DynamoDB Streams, Kafka or MQ event, a request is one batch of its records",
    )
    bench.add_argument("--no-import-profile", action="store_true", help="skip the -X importtime cold start")
    bench.add_argument(
        "--no-bytecode-check",
        action="store_true",
        help="skip checking that the code has bytecode Lambda can use (and measuring its cost)",
    )
    bench.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")

    invoke = commands.add_parser("invoke", help="invoke once and print the log and the response")
    add_function_arguments(invoke)
    invoke.add_argument(
        "--tenant-id",
        metavar="ID",
        help="invoke in tenant isolation mode for tenant ID (as aws lambda invoke --tenant-id)",
    )

    import importlib

    for name, (module, summary) in _MODULE_COMMANDS.items():
        importlib.import_module(module).add_arguments(commands.add_parser(name, help=summary), name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in _MODULE_COMMANDS:
        import importlib

        try:
            status: int = importlib.import_module(_MODULE_COMMANDS[args.command][0]).run(args)
        except LambdaKitError as error:
            print(f"lambda-kit: error: {error}", file=sys.stderr)
            return 2
        return status
    try:
        _check_function_options(args)
        env = _parse_env(args.env)
        parameters = _parse_pairs(args.parameter, "--parameter")
        event = load_event(args.event)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    try:
        settings = _function_settings(args, env, parameters)
        if args.command == "bench":
            return _bench(args, settings, event)
        return _invoke(args, settings, event)
    except LambdaKitError as error:
        print(f"lambda-kit: error: {error}", file=sys.stderr)
        return 2


def _parse_pairs(pairs: Sequence[str], option: str, form: str = "NAME=VALUE") -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{option} expects {form}, got {pair!r}")
        found[key] = value
    return found


def _function_settings(
    args: argparse.Namespace, env: dict[str, str], parameters: dict[str, str]
) -> dict[str, Any]:
    """The function's settings: the options, else the template's function, else defaults.

    A Python version is resolved here, so that preparing its runtime environment (once)
    is announced on stderr.
    """
    from lambda_kit_dev.emulator._python import resolve

    settings: dict[str, Any] = {
        "handler": args.handler,
        "task_root": args.task_root,
        "memory_mb": 128 if args.memory is None else args.memory,
        "timeout_s": 30.0 if args.timeout is None else args.timeout,
        "env": env,
        "python": args.python,
        "layers": list(args.layer),
        "function_name": args.function_name,
    }
    if args.template is not None:
        from lambda_kit_dev._sam import function_spec

        spec = function_spec(args.template, args.function, parameters=parameters, env_overrides=env)
        settings.update(
            handler=args.handler or spec.handler,
            task_root=args.task_root or spec.task_root,
            memory_mb=spec.memory_mb if args.memory is None else args.memory,
            timeout_s=spec.timeout_s if args.timeout is None else args.timeout,
            env={**spec.env, **env},
            python=args.python or spec.python,
            layers=list(args.layer) or list(spec.layers),
            function_name=args.function_name or spec.function_name,
        )
    if settings["python"] is not None:
        settings["python"], _ = resolve(settings["python"], log=_announce)
    if getattr(args, "limits", False):
        import os

        from lambda_kit_dev.emulator._cgroup import unavailable

        os.environ["LAMBDA_KIT_LIMITS"] = "1"  # reaches every emulator this command starts
        for reason in unavailable():
            _announce(reason)
    return settings


def function_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of the function that :func:`add_function_arguments`'s options name.

    The keyword arguments of :class:`~lambda_kit_dev.emulator.Emulator` (``handler``
    included); raises :class:`argparse.ArgumentTypeError` for a malformed ``--env``,
    ``--parameter`` or ``--event``, :class:`LambdaKitError` for a bad template or Python.
    """
    _check_function_options(args)
    return _function_settings(args, _parse_env(args.env), _parse_pairs(args.parameter, "--parameter"))


def _check_function_options(args: argparse.Namespace) -> None:
    """Refuse (ArgumentTypeError) options that name no function or a template option alone."""
    if args.handler is None and args.template is None:
        raise argparse.ArgumentTypeError(
            "give the handler (MODULE.HANDLER) or a template (--template FILE --function NAME)"
        )
    if args.template is None and (args.function or args.parameter):
        raise argparse.ArgumentTypeError(
            "--function and --parameter read a SAM template: give it with --template FILE"
        )


def aws_setting(args: argparse.Namespace) -> bool | AwsStandIn:
    """The emulator's ``aws=`` from ``--aws``, ``--aws-seed`` and ``--aws-endpoint``.

    A stand-in for a seed or an endpoint is returned unstarted: the emulator starts it
    (creating the seed) and stops it when it closes. The seed file is read and checked
    here, before anything starts.

    Raises:
        ConfigurationError: ``--aws`` with ``--aws-endpoint``, an invalid URL, or a seed
            file that cannot be read or is not a seed.
    """
    seed = getattr(args, "aws_seed", None)
    endpoint = getattr(args, "aws_endpoint", None)
    if endpoint is not None and args.aws:
        from lambda_kit.exceptions import ConfigurationError

        raise ConfigurationError(
            "--aws starts an AWS stand-in and --aws-endpoint uses a running one: give one of them.",
            setting="aws_endpoint",
        )
    if seed is None and endpoint is None:
        return bool(args.aws)
    from lambda_kit_dev.stand_ins import AwsStandIn

    return AwsStandIn(seed=seed, endpoint_url=endpoint)


def _announce(message: str) -> None:
    print(f"lambda-kit: {message}", file=sys.stderr, flush=True)


def _bench(args: argparse.Namespace, settings: dict[str, Any], event: Any) -> int:
    from lambda_kit_dev.bench import Progress, format_report, run_bench

    progress = Progress(sys.stderr)
    handler = settings.pop("handler")
    try:
        result = run_bench(
            handler,
            event,
            cold=args.cold,
            warm=args.warm,
            aws=aws_setting(args),
            rps=args.rps,
            profile_imports=not args.no_import_profile,
            check_bytecode=not args.no_bytecode_check,
            label=f"{args.function} ({handler})" if args.function else None,
            progress=progress,
            **settings,
        )
    finally:
        progress.close()
    if args.html:
        from lambda_kit_dev.html_report import bench_page, write_page

        write_page(args.html, bench_page(result))
    if args.json:
        print(strict_json(result.to_dict()))
    else:
        print(format_report(result), end="")
    return 1 if result.failed else 0


def _invoke(args: argparse.Namespace, settings: dict[str, Any], event: Any) -> int:
    from lambda_kit_dev.emulator import Emulator

    handler = settings.pop("handler")
    tenant = args.tenant_id
    isolation = tenant is not None
    with Emulator(handler, aws=aws_setting(args), tenant_isolation=isolation, **settings) as function:
        invocation = function.invoke(event, tenant_id=tenant)
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
