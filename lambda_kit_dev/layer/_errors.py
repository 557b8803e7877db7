"""The builder's error (internal; re-exported by :mod:`lambda_kit_dev.layer`)."""

from __future__ import annotations

from lambda_kit.exceptions import LambdaKitError

__all__ = ["BuildError"]


class BuildError(LambdaKitError):
    """A layer or bundle could not be built: pip failed, an input is unusable, an output is in the way.

    Bad arguments (an unknown Python, architecture or extra) raise
    :class:`~lambda_kit.exceptions.ConfigurationError` instead. Context names what
    failed: ``path``, ``command`` and ``returncode`` where they apply.
    """
