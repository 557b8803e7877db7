"""The ``lambda-kit layer`` and ``lambda-kit bundle`` commands (internal; wired by ``lambda_kit_dev._cli``).

Exit status: 0 when the output was written and fits Lambda's limits, 1 when it was
written but Lambda would refuse it (over 250 MB unzipped), 2 for a usage or build
error (nothing written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lambda_kit.exceptions import LambdaKitError
from lambda_kit_dev.layer._target import ARCHITECTURES, PYTHONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal


def _extras(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_arguments(parser: argparse.ArgumentParser, command: Literal["layer", "bundle"] = "layer") -> None:
    """Add the options of ``lambda-kit layer`` (``command="bundle"``: of ``lambda-kit bundle``) to ``parser``.

    :func:`run` then builds what the parsed arguments ask for.

    Example:
        >>> parser = argparse.ArgumentParser(prog="lambda-kit layer")
        >>> add_arguments(parser)
        >>> parser.parse_args(["--python", "3.13", "--extras", "pydantic"]).extras
        ['pydantic']
    """
    parser.set_defaults(build_command=command)
    if command == "bundle":
        parser.add_argument("source", metavar="SOURCE_DIR", help="the function's code directory")
        parser.add_argument(
            "--requirements",
            metavar="FILE",
            help="its requirements.txt (default: SOURCE_DIR/requirements.txt when there is one)",
        )
        parser.add_argument(
            "--layer",
            action="append",
            default=[],
            metavar="ZIP|DIR",
            help="a layer the function runs with, counted in the 250 MB limit (repeatable)",
        )
    else:
        parser.add_argument(
            "--extras",
            type=_extras,
            default=[],
            metavar="A,B",
            help="lambda-kit extras to include: pydantic, protobuf (aws and all: boto3 is in the runtime)",
        )
    parser.add_argument(
        "--python", choices=PYTHONS, default="3.12", help="the Lambda runtime's Python (default 3.12)"
    )
    parser.add_argument(
        "--arch", choices=ARCHITECTURES, default="x86_64", help="the architecture (default x86_64)"
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=f"a .zip to write, or a new directory (default build/{command}-pyX.Y-ARCH.zip)",
    )
    parser.add_argument(
        "--include-runtime-packages",
        action="store_true",
        help="also ship boto3, botocore, urllib3, s3transfer, jmespath, python-dateutil and six",
    )
    parser.add_argument(
        "--interpreter",
        metavar="PATH",
        help="the target Python to compile with (default: found under pyenv or PATH)",
    )
    parser.add_argument(
        "--require-bytecode",
        action="store_true",
        help="fail, rather than warn, when there is no target Python",
    )
    parser.add_argument(
        "--pip-option",
        action="append",
        default=[],
        metavar="OPT",
        help="an option for pip download, e.g. --pip-option=--index-url=URL (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Build what ``args`` (from a parser :func:`add_arguments` set up) ask for; returns the exit status."""
    from lambda_kit_dev.layer._build import build_bundle, build_layer

    command = getattr(args, "build_command", "layer")
    out = args.out or f"build/{command}-py{args.python}-{args.arch}.zip"
    try:
        if command == "bundle":
            requirements = args.requirements
            if requirements is None and (Path(args.source) / "requirements.txt").is_file():
                requirements = str(Path(args.source) / "requirements.txt")
            result = build_bundle(
                args.source,
                out,
                requirements=requirements,
                with_layers=args.layer,
                python=args.python,
                arch=args.arch,
                include_runtime_packages=args.include_runtime_packages,
                interpreter=args.interpreter,
                require_bytecode=args.require_bytecode,
                pip_options=args.pip_option,
            )
        else:
            result = build_layer(
                out,
                extras=args.extras,
                python=args.python,
                arch=args.arch,
                include_runtime_packages=args.include_runtime_packages,
                interpreter=args.interpreter,
                require_bytecode=args.require_bytecode,
                pip_options=args.pip_option,
            )
    except LambdaKitError as error:
        print(f"lambda-kit {command}: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary(), end="")
    return 0 if result.ok else 1
