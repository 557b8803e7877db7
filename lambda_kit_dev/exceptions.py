"""Errors of the development tools: the emulator, ``lambda-kit bench`` and the stand-ins.

They extend lambda-kit's tree (:mod:`lambda_kit.exceptions`), so one
``except LambdaKitError`` still catches everything::

    LambdaKitError
    ├── ConfigurationError (ValueError)
    │   └── FilterPatternError            a FilterCriteria pattern Lambda would refuse
    └── EmulatorError                     the local emulator could not do what was asked
        └── HandlerNotReadyError          the emulated environment died or never started

Example:
    >>> from lambda_kit.exceptions import LambdaKitError
    >>> issubclass(EmulatorError, LambdaKitError)
    True
"""

from __future__ import annotations

from lambda_kit.exceptions import ConfigurationError, LambdaKitError

__all__ = ["EmulatorError", "FilterPatternError", "HandlerNotReadyError"]


class EmulatorError(LambdaKitError):
    """The local Lambda emulator could not do what was asked.

    Raised for problems of the emulator itself (a payload over Lambda's limit, a
    missing awslambdaric, a closed emulator), never for errors of the handler under
    test: those come back in the invocation result, as Lambda returns them.
    """


class HandlerNotReadyError(EmulatorError):
    """The emulated execution environment died or could not be started."""


class FilterPatternError(ConfigurationError):
    """A filter pattern (or a FilterCriteria) that Lambda would refuse (a ``ConfigurationError``).

    The message starts with the error Lambda answers (``InvalidParameterValueException``
    or ``ValidationException``) and then says what is wrong, and where.
    """
