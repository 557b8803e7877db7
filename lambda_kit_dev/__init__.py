"""lambda-kit's development tools: the local emulator, ``lambda-kit bench`` and test stand-ins.

Nothing here runs inside Lambda. :mod:`lambda_kit` is the runtime package (what a
Layer vendors) and never imports this one; this one builds on it. Its dependencies
(awslambdaric, moto's server, cryptography) come with the ``tools`` extra:
``pip install 'lambda-kit[tools]'``.

* :mod:`lambda_kit_dev.emulator`: :class:`Emulator` runs any handler under the real
  runtime client and reports what Lambda's REPORT line would say.
* :mod:`lambda_kit_dev.bench`: cold and warm statistics, an import profile and a
  throttling projection (the ``lambda-kit bench`` command).
* :mod:`lambda_kit_dev.stand_ins`: :class:`TLSServer` (a local HTTPS origin) and
  :class:`AwsStandIn` (moto on 127.0.0.1) for tests and benchmarks.

Example:
    >>> from lambda_kit_dev import Emulator
    >>> with Emulator("app.handler", task_root="examples/plain") as fn:  # doctest: +SKIP
    ...     print(fn.invoke({}).report.report_line())
"""

from __future__ import annotations

from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit_dev.emulator import Emulator, ImportTiming, Invocation, Report
    from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError
    from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer

__all__ = [
    "AwsStandIn",
    "Emulator",
    "EmulatorError",
    "HandlerNotReadyError",
    "ImportTiming",
    "Invocation",
    "Report",
    "TLSServer",
]

_LAZY = {
    "AwsStandIn": "lambda_kit_dev.stand_ins",
    "Emulator": "lambda_kit_dev.emulator",
    "EmulatorError": "lambda_kit_dev.exceptions",
    "HandlerNotReadyError": "lambda_kit_dev.exceptions",
    "ImportTiming": "lambda_kit_dev.emulator",
    "Invocation": "lambda_kit_dev.emulator",
    "Report": "lambda_kit_dev.emulator",
    "TLSServer": "lambda_kit_dev.stand_ins",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
