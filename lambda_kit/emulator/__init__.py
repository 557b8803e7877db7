"""A local Lambda emulator: any handler's cold and warm cost, as Lambda reports it.

The emulator implements the Lambda Runtime API on loopback and runs the handler
under the real AWS runtime interface client (``python -m awslambdaric
module.handler``), one subprocess per execution environment, under a small
supervisor that makes every process the function starts end with the environment.
For every invocation it measures what Lambda's REPORT line says (Init Duration,
Duration, Billed Duration, Memory Size, Max Memory Used, Status) and captures the
function's output and AWS API calls. Faults behave as on Lambda: a timeout kills the
environment, an import error is ``Runtime.ImportModuleError``, a crashed runtime is
``Runtime.ExitError``.

No Docker and no AWS account: with ``aws=True`` the function talks to a moto server
on 127.0.0.1.

Example:
    >>> from lambda_kit.emulator import Emulator
    >>> with Emulator("app.handler", task_root="examples/plain", aws=True) as fn:  # doctest: +SKIP
    ...     cold = fn.invoke({"rawPath": "/"})
    ...     warm = fn.invoke({"rawPath": "/"})
    >>> print(cold.report.report_line())  # doctest: +SKIP
    REPORT RequestId: ...	Duration: 1.92 ms	Billed Duration: 183 ms	...

``lambda-kit bench`` (see :mod:`lambda_kit.emulator.bench`) builds cold/warm
statistics, an import profile and a throttling projection on top of it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit.emulator._emulator import Emulator
    from lambda_kit.emulator._report import ImportTiming, Invocation, Report
    from lambda_kit.emulator._standin import AwsStandIn
    from lambda_kit.emulator._tls import TLSServer

__all__ = ["AwsStandIn", "Emulator", "ImportTiming", "Invocation", "Report", "TLSServer"]

_LAZY = {
    "AwsStandIn": "lambda_kit.emulator._standin",
    "Emulator": "lambda_kit.emulator._emulator",
    "ImportTiming": "lambda_kit.emulator._report",
    "Invocation": "lambda_kit.emulator._report",
    "Report": "lambda_kit.emulator._report",
    "TLSServer": "lambda_kit.emulator._tls",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_kit.emulator' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
