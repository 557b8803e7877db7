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
    >>> from lambda_kit_dev.emulator import Emulator
    >>> with Emulator("app.handler", task_root="examples/plain", aws=True) as fn:  # doctest: +SKIP
    ...     cold = fn.invoke({"rawPath": "/"})
    ...     warm = fn.invoke({"rawPath": "/"})
    >>> print(cold.report.report_line())  # doctest: +SKIP
    REPORT RequestId: ...	Duration: 1.92 ms	Billed Duration: 183 ms	...

``lambda-kit bench`` (see :mod:`lambda_kit_dev.bench`) builds cold/warm
statistics, an import profile and a throttling projection on top of it;
``lambda-kit load`` (see :mod:`lambda_kit_dev.load`) runs a request rate, scaled as
Lambda scales it. :class:`SnapStartEmulator` (with :class:`Hazard`, what two restored environments
share that they should not) and :class:`ManagedInstancesEmulator` run the two other
execution models: environments restored from one snapshot, and several invocations
at once in one environment.
"""

from __future__ import annotations

from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit_dev.emulator._emulator import Emulator
    from lambda_kit_dev.emulator._managed import ManagedInstancesEmulator
    from lambda_kit_dev.emulator._report import ImportTiming, Invocation, Report
    from lambda_kit_dev.emulator._snapstart import Hazard, SnapStartEmulator

__all__ = [
    "Emulator",
    "Hazard",
    "ImportTiming",
    "Invocation",
    "ManagedInstancesEmulator",
    "Report",
    "SnapStartEmulator",
]

_LAZY = {
    "Emulator": "lambda_kit_dev.emulator._emulator",
    "Hazard": "lambda_kit_dev.emulator._snapstart",
    "ImportTiming": "lambda_kit_dev.emulator._report",
    "Invocation": "lambda_kit_dev.emulator._report",
    "ManagedInstancesEmulator": "lambda_kit_dev.emulator._managed",
    "Report": "lambda_kit_dev.emulator._report",
    "SnapStartEmulator": "lambda_kit_dev.emulator._snapstart",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
