"""Stand-ins for what a function talks to, on loopback: an HTTPS origin and AWS.

* :class:`TLSServer`: a local HTTPS server with a throwaway certificate, for
  keep-alive, deadline and fault tests of outbound clients.
* :class:`AwsStandIn`: a moto server on 127.0.0.1 in a process of its own (state
  isolated per instance), seeded with secrets and parameters, for AWS APIs without
  an account.

Test infrastructure with development dependencies (cryptography, moto): never part
of what runs inside Lambda.

Example:
    >>> from lambda_kit_dev.stand_ins import TLSServer
    >>> with TLSServer() as origin:  # doctest: +SKIP
    ...     print(origin.url)
"""

from __future__ import annotations

from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_kit_dev.stand_ins._aws import AwsStandIn
    from lambda_kit_dev.stand_ins._tls import TLSServer

__all__ = ["AwsStandIn", "TLSServer"]

_LAZY = {"AwsStandIn": "lambda_kit_dev.stand_ins._aws", "TLSServer": "lambda_kit_dev.stand_ins._tls"}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
