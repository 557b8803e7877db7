"""The ``Backend`` protocol of lambda_kit.secrets: where a value comes from (internal).

A module of its own, below both ``lambda_kit.secrets`` and ``lambda_kit._secrets_backends``,
so that each can name the protocol without importing the other: imports run one way,
``secrets`` -> ``_secrets_backends`` -> ``aws``. Neither imports this module at run time
(their annotations name it under ``TYPE_CHECKING``), so ``typing``, which the Lambda
runtime has not loaded, is imported only when user code reads ``lambda_kit.secrets.Backend``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """Where a :class:`~lambda_kit.secrets.Secret` or :class:`~lambda_kit.secrets.Parameter` gets its value.

    Any object with these two methods will do (subclassing is not needed); lambda-kit
    ships :class:`~lambda_kit.secrets.SdkBackend` and
    :class:`~lambda_kit.secrets.ExtensionBackend`. Both methods return
    ``(value, version_id)`` and raise :class:`~lambda_kit.exceptions.SecretError` (with
    ``code`` set) when the value cannot be fetched; any other exception is wrapped into
    one, never chained (its text may hold the value). ``forced`` is ``True`` for a
    refresh after a failure (a rotation), where a cache between the function and AWS
    must be bypassed.

    Example:
        >>> class Fixed:
        ...     def get_secret_value(self, secret_id, *, version_stage, version_id, forced):
        ...         return "s3cr3t", "v1"
        ...
        ...     def get_parameter(self, name, *, with_decryption, forced):
        ...         return "value", "1"
        >>> isinstance(Fixed(), Backend)
        True
    """

    def get_secret_value(
        self, secret_id: str, *, version_stage: str | None, version_id: str | None, forced: bool
    ) -> tuple[str | bytes, str]:
        """Secrets Manager's value of ``secret_id``: ``(SecretString or SecretBinary, VersionId)``."""
        ...

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        """Parameter Store's value of ``name``: ``(Value, str(Version))``."""
        ...
