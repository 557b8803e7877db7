"""Secrets and parameters fetched once per execution environment, refetched on rotation.

Calling ``GetSecretValue`` in every invocation costs a network round trip each time
and spends a Region-wide quota (10,000 requests/s, shared by the whole account): at
6,000 requests/s that is 60 % of it. A :class:`Secret` declared at module scope
fetches once, during INIT, and serves every later read from memory until its TTL
runs out; 600 environments then make about 600 calls per TTL instead of 6,000 per
second.

The model, in one paragraph: each :class:`Secret` (or :class:`Parameter`) holds one
immutable cache entry (value, version id, when it was fetched, when it expires).
``.value`` returns the entry's value while it is fresh: two attribute loads and one
monotonic-clock comparison, no lock. When the TTL has run out, one thread fetches
(single-flight) while every other reader gets the cached value at once, without
waiting for that fetch. After a rotation the cached password stops working:
:meth:`Secret.refetch_on` turns the resulting error into one shared refetch and one
retry with the new value. When a fetch fails, the cached value is served
(stale-if-error) for up to ``max_stale`` seconds after its TTL ran out, with one
warning logged; fetch attempts back off with jitter meanwhile, so an outage or
throttling never turns into an API storm. Nothing sleeps on the request path. After
a SnapStart restore, no value from the snapshot is served again: every one is
refetched during the restore, in parallel, within
:data:`lambda_kit.lifecycle.RESTORE_WARM_BUDGET`, or else by its first reader.

Values never appear in a repr, a log line or an error message produced here.

Example:
    >>> from lambda_kit.secrets import Secret
    >>> DB = Secret("prod/db").prefetch()  # doctest: +SKIP
    >>> @DB.refetch_on(PermissionError)  # doctest: +SKIP
    ... def connect():
    ...     credentials = DB.json()
    ...     return open_connection(credentials["username"], credentials["password"])
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time

from lambda_kit._util import is_coroutine_function, lazy_exports, random_unit

TYPE_CHECKING = False  # typing is not preloaded by the runtime (docs/internals.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ParamSpec, TypeVar

    from typing_extensions import Self

    from lambda_kit._config import _Unset
    from lambda_kit._secrets_types import Backend

    P = ParamSpec("P")
    R = TypeVar("R")


__all__ = ["Backend", "ExtensionBackend", "Parameter", "SdkBackend", "Secret", "SecretError"]

# Bound once: the hot path pays one global load and one C call for the clock.
_monotonic = time.monotonic

DEFAULT_TTL = 300.0
"""Seconds a fetched value is served from memory (before jitter)."""
DEFAULT_MAX_STALE = 900.0
"""Seconds after its TTL ran out that a value may still be served (while refetching, or fetching fails)."""
DEFAULT_MIN_REFRESH_INTERVAL = 1.0
"""Minimum seconds between two forced refreshes of one secret."""
TTL_JITTER = 0.1
"""Each TTL is shortened by a random 0-10 %, so environments started together spread out."""
BACKOFF_CAP = 30.0
"""Longest wait, in seconds, between two fetch attempts after consecutive failures."""

_INF = float("inf")
_UNPARSED: Any = object()  # marks an entry whose JSON has not been parsed yet


class _Entry:
    """One fetched value: immutable once published (``parsed`` is filled in lazily).

    ``forced_seq`` numbers the forced fetch that produced it (0: an ordinary fetch), so
    :meth:`_Cached.refetch_on` can tell a refresh that started after a failure from one
    that was already on the wire. The repr never shows the value: an entry sits in
    frame locals that error trackers print.
    """

    __slots__ = ("expires", "fetched_at", "forced_seq", "parsed", "restored", "value", "version_id")

    def __init__(
        self,
        value: str | bytes,
        version_id: str,
        fetched_at: float,
        expires: float,
        *,
        parsed: Any = _UNPARSED,
        restored: bool = False,
        forced_seq: int = 0,
    ) -> None:
        self.value = value
        self.version_id = version_id
        self.fetched_at = fetched_at
        self.expires = expires
        self.parsed = parsed
        self.restored = restored
        self.forced_seq = forced_seq

    def __repr__(self) -> str:
        return f"<cached value, version {self.version_id!r}>"


class _Cached:
    """The cache, refresh and stale-if-error machinery shared by Secret and Parameter."""

    __slots__ = (
        "__weakref__",
        "_backend",
        "_client",
        "_entry",
        "_failure",
        "_failures",
        "_forced_seq",
        "_last_forced",
        "_lock",
        "_max_stale",
        "_min_interval",
        "_retry_at",
        "_ttl",
        "_warned",
    )

    _kind = "value"
    _value_types: tuple[type, ...] = (str, bytes)  # what a backend may return as the value

    def __init__(
        self,
        *,
        ttl: float | _Unset,
        max_stale: float | _Unset,
        min_refresh_interval: float | _Unset,
        client: Any,
        backend: Backend | str | None,
    ) -> None:
        from lambda_kit._config import UNSET, choice, resolve, seconds
        from lambda_kit.exceptions import ConfigurationError

        self._ttl = float(resolve("secrets_ttl", ttl, DEFAULT_TTL, seconds(), argument="ttl"))
        self._max_stale = float(
            resolve(
                "secrets_max_stale",
                max_stale,
                DEFAULT_MAX_STALE,
                seconds(allow_zero=True),
                argument="max_stale",
            )
        )
        self._min_interval = float(
            resolve(
                "secrets_min_refresh_interval",
                min_refresh_interval,
                DEFAULT_MIN_REFRESH_INTERVAL,
                seconds(allow_zero=True),
                argument="min_refresh_interval",
            )
        )
        if backend is None or isinstance(backend, str):
            chosen: Backend | str = resolve(
                "secrets_backend",
                UNSET if backend is None else backend,
                "sdk",
                choice("sdk", "extension"),
                argument="backend",
                valid="'sdk', 'extension' or a Backend object",
            )
        else:
            if client is not None:
                raise ConfigurationError(
                    "Pass either client= (for the SDK backend) or a backend object, not both.",
                    setting="client",
                )
            chosen = backend
        self._backend: Backend | str = chosen
        self._client = client
        self._entry: _Entry | None = None
        self._lock = threading.Lock()
        self._retry_at = -_INF
        self._last_forced = -_INF
        self._forced_seq = 0  # forced fetches started so far (see _Entry.forced_seq)
        self._failures = 0
        self._failure: SecretError | None = None
        self._warned = False
        from lambda_kit import lifecycle

        lifecycle._track(self)  # weakly: renewed after a SnapStart restore (see _warmups)

    # -- what subclasses provide -----------------------------------------------------

    def _fetch(self, backend: Backend, forced: bool) -> tuple[str | bytes, str]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _describe(self) -> str:
        raise NotImplementedError  # pragma: no cover - abstract

    def _context(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- the hot path ----------------------------------------------------------------

    @property
    def value(self) -> str | bytes:
        """The value, from memory while it is fresh; fetched when it is not.

        Once the TTL has run out, one reader refetches; the others get the cached
        value at once, for up to ``max_stale`` seconds after the expiry.

        Raises:
            SecretError: No value could be fetched, and the cached one (if any)
                expired more than ``max_stale`` seconds ago.
        """
        entry = self._entry
        if entry is not None and _monotonic() < entry.expires:
            return entry.value
        return self._current().value

    def json(self) -> Any:
        """The value parsed as JSON, parsed once per version (treat it as read-only).

        Raises:
            SecretError: The value is not JSON (the message never quotes it), or no
                value could be fetched.
        """
        entry = self._entry
        if entry is None or _monotonic() >= entry.expires:
            entry = self._current()
        parsed = entry.parsed
        if parsed is _UNPARSED:
            parsed_ok, parsed = _load_json(entry)
            if not parsed_ok:  # parsed is the reason, in words that never quote the value
                from lambda_kit.exceptions import SecretError

                raise SecretError(
                    f"The value of {self._describe()}, version {entry.version_id}, is {parsed}.",
                    code="InvalidJSON",
                    **self._context(),
                )
            entry.parsed = parsed
        return parsed

    @property
    def version_id(self) -> str:
        """The version id of the value :attr:`value` returns now."""
        entry = self._entry
        if entry is None or _monotonic() >= entry.expires:
            entry = self._current()
        return entry.version_id

    # -- fetching --------------------------------------------------------------------

    def prefetch(self) -> Self:
        """Fetch now (at module scope this is during INIT) and return ``self``.

        Raises:
            SecretError: The value could not be fetched.

        Example:
            >>> DB = Secret("prod/db").prefetch()  # doctest: +SKIP
        """
        with self._lock:
            self._load(forced=False)
        return self

    def refresh(self) -> bool:
        """Refetch now and return whether the version changed.

        Concurrent callers share one fetch. A refresh less than
        ``min_refresh_interval`` seconds after the previous one, or during the back-off
        after a failed fetch, fetches nothing and returns ``False``.

        Raises:
            SecretError: The fetch failed, and the cached value (if any) expired more
                than ``max_stale`` seconds ago.
        """
        before = self._entry
        after = self._refresh_since(before, self._forced_seq)
        return before is None or after.version_id != before.version_id

    def refetch_on(self, *exception_types: type[BaseException]) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate the function that uses the value: on those errors, refetch and retry once.

        When the decorated function raises one of ``exception_types``, the secret is
        refreshed: a forced fetch that starts after the failure (one fetch shared by
        every thread that failed at the same time). A TTL refresh made meanwhile does
        not stand in for it: it may predate the rotation, or come from the extension's
        cache. If the version changed since the failing call read it, the function is
        called once more; otherwise the original error is re-raised unchanged. The wrapper
        itself reads nothing before the call: a function that does not need the
        secret runs even while Secrets Manager is unreachable. Works on ``async def``
        functions too (the refresh itself is a blocking call).

        Raises:
            TypeError: No exception class was given, or something else was.

        Example:
            >>> @DB.refetch_on(psycopg.OperationalError)  # doctest: +SKIP
            ... def connect() -> psycopg.Connection:
            ...     return psycopg.connect(password=DB.json()["password"])
        """
        if not exception_types or not all(
            isinstance(kind, type) and issubclass(kind, BaseException) for kind in exception_types
        ):
            raise TypeError(
                "refetch_on() takes one or more exception classes, "
                "e.g. @secret.refetch_on(psycopg.OperationalError)."
            )

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            if is_coroutine_function(func):

                @functools.wraps(func)
                async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                    before = self._entry
                    try:
                        return await func(*args, **kwargs)  # type: ignore[misc]  # R is awaitable here
                    except exception_types as error:
                        failed = error
                        seen = self._forced_seq  # forced fetches started before the failure
                    if not self._rotated_since(before, seen):
                        raise failed
                    return await func(*args, **kwargs)  # type: ignore[misc]

                return async_wrapper  # type: ignore[return-value]  # same signature, async

            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                before = self._entry  # what is cached now; fetching is left to the function
                try:
                    return func(*args, **kwargs)
                except exception_types as error:
                    failed = error
                    seen = self._forced_seq  # forced fetches started before the failure
                # Outside the except block, so the original error is re-raised unchanged.
                if not self._rotated_since(before, seen):
                    raise failed
                return func(*args, **kwargs)

            return wrapper

        return decorate

    # -- internals -------------------------------------------------------------------

    def _current(self) -> _Entry:
        """The entry to serve now that the cached one has expired (or there is none).

        Callers have found the entry expired; under the lock, :meth:`_load` looks again.
        """
        entry = self._entry
        now = _monotonic()
        lock = self._lock
        if not lock.acquire(blocking=False):
            # Another thread is fetching: serve what we have at once, without waiting for
            # it, while the entry is inside its stale window.
            if entry is not None and not entry.restored and now <= entry.expires + self._max_stale:
                return entry
            lock.acquire()
        try:
            return self._load(forced=False)
        finally:
            lock.release()

    def _rotated_since(self, before: _Entry | None, seen: int) -> bool:
        """Refresh after a failure; whether the version now differs from ``before``.

        ``before`` is the entry cached when the failing call started. When there was
        none (or only a value from before a SnapStart restore, which is never served),
        the call can only have used the entry it fetched itself: the one cached now.
        ``seen`` is :attr:`_forced_seq` read when the call failed.
        """

        from lambda_kit.exceptions import SecretError

        if before is None or before.restored:
            before = self._entry
            if before is None or before.restored:
                return False  # nothing was served to the call: a refetch cannot help it
        try:
            after = self._refresh_since(before, seen)
        except SecretError:
            return False
        return after.version_id != before.version_id

    def _refresh_since(self, before: _Entry | None, seen: int) -> _Entry:
        """A forced refresh, unless another thread's fetch already answers the question.

        It does when the version changed since ``before`` was read, or when it was a
        forced fetch that started after :attr:`_forced_seq` was ``seen`` (after the
        failure). Any other fetch since ``before`` proves nothing: a TTL refresh that
        was on the wire while the rotation finished, or one served from a cache in
        front of Secrets Manager (the extension's), may still hold the old version.
        """
        with self._lock:
            current = self._entry
            if (
                current is not None
                and current is not before
                and not current.restored
                and (before is None or current.version_id != before.version_id or current.forced_seq > seen)
            ):
                return current  # someone else's fetch serves us too
            now = _monotonic()
            if now - self._last_forced < self._min_interval:
                return self._load(forced=False)  # rate-limited: no new fetch unless expired
            self._last_forced = now
            self._forced_seq += 1
            return self._load(forced=True)

    def _load(self, *, forced: bool) -> _Entry:
        """Fetch if needed and allowed; called with ``self._lock`` held."""

        from lambda_kit.exceptions import SecretError

        now = _monotonic()
        entry = self._entry
        if not forced and entry is not None and now < entry.expires:
            return entry
        if now < self._retry_at:
            return self._fallback(entry, now)  # backing off after a failure
        try:
            answer = self._fetch(self._get_backend(), forced)
        except SecretError as error:
            failure = error
        except Exception as error:  # a custom backend's own error, wrapped
            # Never chained: a foreign exception's text (KeyError('hunter2')) may hold the
            # value, and a traceback prints every cause. Its type name is kept in ``code``.
            failure = SecretError(
                f"Fetching {self._describe()} failed with {type(error).__name__}.",
                code=type(error).__name__,
                **self._context(),
            )
        else:
            if _is_answer(answer, self._value_types):
                value, version_id = answer
                parsed = _UNPARSED
                same = entry is not None and not entry.restored and entry.version_id == version_id
                if same and entry is not None and entry.value == value:
                    parsed = entry.parsed  # same version: JSON stays parsed once per version
                expires = now + self._ttl * (1.0 - TTL_JITTER * random_unit())
                fresh = _Entry(
                    value,
                    version_id,
                    now,
                    expires,
                    parsed=parsed,
                    forced_seq=self._forced_seq if forced else 0,
                )
                self._entry = fresh
                self._failures = 0
                self._failure = None
                self._retry_at = -_INF
                self._warned = False
                return fresh
            shape = _shape(answer)
            del answer  # may hold the value: never left in this frame's locals by the raise below
            expected = " or ".join(kind.__name__ for kind in self._value_types)
            failure = SecretError(
                f"The backend of {self._describe()} returned {shape}; expected a (value, version_id) "
                f"tuple with a {expected} value and a str version id.",
                code="InvalidBackendAnswer",
                **self._context(),
            )
        self._failures += 1
        self._failure = failure
        base = max(self._min_interval, 0.1)
        delay = min(BACKOFF_CAP, base * 2.0 ** min(self._failures - 1, 30))
        self._retry_at = _monotonic() + delay * (0.5 + 0.5 * random_unit())  # "equal jitter"
        return self._fallback(entry, _monotonic())

    def _fallback(self, entry: _Entry | None, now: float) -> _Entry:
        """Serve the cached entry until max_stale seconds after its TTL ran out, or raise."""

        from lambda_kit.exceptions import SecretError

        failure = self._failure
        code = "Unknown" if failure is None else str(failure.context.get("code", "Unknown"))
        if entry is not None and not entry.restored and now <= entry.expires + self._max_stale:
            if not self._warned:
                self._warned = True
                self._warn_stale(entry, now, code)
            return entry
        if entry is None:
            why = "no value has been fetched yet"
        elif entry.restored:
            why = "the cached value was fetched before a SnapStart snapshot and must be refetched"
        else:
            why = (
                f"the cached value expired {now - entry.expires:.0f} s ago, "
                f"more than max_stale={self._max_stale:g} s"
            )
        detail = "" if failure is None else f" {failure.message}"
        wait = self._retry_at - now
        retry = f" Next attempt in {wait:.1f} s." if wait > 0 else ""
        raise SecretError(
            f"Could not fetch {self._describe()}: {code}, and {why}.{detail}{retry}",
            code=code,
            **self._context(),
        ) from failure

    def _warn_stale(self, entry: _Entry, now: float, code: str) -> None:
        logging.getLogger("lambda_kit.secrets").warning(
            "Refreshing %s failed (%s); serving the cached version %s (fetched %.0f s ago) for up "
            "to %g s after its TTL ends (max_stale).",
            self._describe(),
            code,
            entry.version_id,
            now - entry.fetched_at,
            self._max_stale,
        )

    def _get_backend(self) -> Backend:
        backend = self._backend
        if not isinstance(backend, str):
            return backend
        from lambda_kit import _secrets_backends

        resolved = _secrets_backends.backend_for(backend, self._client)
        self._backend = resolved
        return resolved

    # -- SnapStart (lifecycle's dispatcher calls these) --------------------------------

    def _close_for_snapshot(self) -> None:
        """Before a snapshot: nothing to close (the value is kept, and never served after a restore)."""

    def _warmups(self) -> list[Callable[[float], object]]:
        """After a restore, before any invocation: mark the value stale; return its refetch.

        A cached value must be refetched before it is served again (it may have been
        rotated meanwhile, and the clock it expires by is the snapshot's). The refetch
        runs in parallel with the others, within the restore's warm budget; one not
        done by then is done by the first reader.
        """
        return [self._refetch_after_restore] if self._mark_restored() else []

    def _mark_restored(self) -> bool:
        """SnapStart restore: the value must be refetched before its next use.

        Returns whether a value was cached (and so needs refetching).
        """
        with self._lock:
            entry = self._entry
            if entry is not None:
                self._entry = _Entry(entry.value, entry.version_id, -_INF, -_INF, restored=True)
            # The monotonic clock of a restored environment is unrelated to the snapshot's.
            self._retry_at = -_INF
            self._last_forced = -_INF
            self._failures = 0
            self._failure = None
            self._warned = False
            return entry is not None

    def _refetch_after_restore(self, end: float) -> None:
        """Refetch a value marked by :meth:`_mark_restored`; on failure, leave it to the first read.

        ``end`` (when the restore stops waiting) does not cut the fetch: the backend's
        own timeouts bound it, and a reader meanwhile waits for it instead of fetching again.
        """
        with self._lock:
            entry = self._entry
            if entry is None or not entry.restored:
                return  # a reader fetched it already
            try:
                self._load(forced=False)
            except Exception:  # never out of a warm-up; the first read tries again, at once
                self._retry_at = -_INF
                self._failures = 0
                self._failure = None


class Secret(_Cached):
    """A Secrets Manager secret cached for the life of the execution environment.

    Declare it at module scope; ``.prefetch()`` fetches it during INIT. The cache
    belongs to this object and to its ``(secret_id, version_stage, version_id)``:
    an ``AWSPENDING`` secret is a different object with its own value.

    Args:
        secret_id: The secret's name or ARN.
        ttl: Seconds a value is served from memory (``LAMBDA_KIT_SECRETS_TTL``,
            default 300); each TTL is shortened by a random 0-10 %.
        version_stage: The staging label to read (``AWSCURRENT``, ``AWSPENDING``,
            ``AWSPREVIOUS`` or your own).
        version_id: A fixed version to read instead of a stage (the stage is then
            sent only when it is not the default ``AWSCURRENT``).
        max_stale: Seconds after its TTL ran out that a value may still be served
            (``LAMBDA_KIT_SECRETS_MAX_STALE``, default 900): to every reader but the
            one refetching it, and to all of them while fetching fails. The window
            counts from the expiry, not from the fetch, so it applies whatever the
            TTL. ``0`` never serves an expired value: readers then wait for the fetch.
        min_refresh_interval: Minimum seconds between forced refreshes, and the base
            of the back-off after failures (``LAMBDA_KIT_SECRETS_MIN_REFRESH_INTERVAL``,
            default 1).
        client: A boto3 Secrets Manager client to use; by default one is created on
            the first fetch (no SDK retries, 1 s connect and 3 s read timeouts) and
            shared by every secret for the environment's life.
        backend: ``"sdk"`` (default), ``"extension"`` (the Parameters and Secrets
            Lambda Extension, falling back to the SDK) or a :class:`Backend`
            (``LAMBDA_KIT_SECRETS_BACKEND``).

    Raises:
        ConfigurationError: An argument or ``LAMBDA_KIT_SECRETS_*`` variable is invalid.

    Example:
        >>> DB = Secret("prod/db").prefetch()  # doctest: +SKIP
        >>> def handler(event, context):  # doctest: +SKIP
        ...     password = DB.json()["password"]
    """

    __slots__ = ("_requested_version_id", "secret_id", "version_stage")

    _kind = "secret"

    def __init__(
        self,
        secret_id: str,
        *,
        ttl: float | None = None,
        version_stage: str = "AWSCURRENT",
        version_id: str | None = None,
        max_stale: float | None = None,
        min_refresh_interval: float | None = None,
        client: Any = None,
        backend: Backend | str | None = None,
    ) -> None:
        from lambda_kit.exceptions import ConfigurationError

        if not isinstance(secret_id, str) or not 1 <= len(secret_id) <= 2048:
            raise ConfigurationError(
                "secret_id must be a secret name or ARN of 1-2048 characters.", setting="secret_id"
            )
        if not isinstance(version_stage, str) or not 1 <= len(version_stage) <= 256:
            raise ConfigurationError(
                "version_stage must be a staging label of 1-256 characters, such as 'AWSCURRENT'.",
                setting="version_stage",
                value=version_stage,
            )
        if version_id is not None and (not isinstance(version_id, str) or not 32 <= len(version_id) <= 64):
            raise ConfigurationError(
                "version_id must be None or a version id of 32-64 characters.",
                setting="version_id",
                value=version_id,
            )
        self.secret_id = secret_id
        self.version_stage = version_stage
        self._requested_version_id = version_id
        super().__init__(
            ttl=_unset_if_none(ttl),
            max_stale=_unset_if_none(max_stale),
            min_refresh_interval=_unset_if_none(min_refresh_interval),
            client=client,
            backend=backend,
        )

    def _fetch(self, backend: Backend, forced: bool) -> tuple[str | bytes, str]:
        version_id = self._requested_version_id
        stage: str | None = self.version_stage
        if version_id is not None and stage == "AWSCURRENT":
            stage = None
        return backend.get_secret_value(
            self.secret_id, version_stage=stage, version_id=version_id, forced=forced
        )

    def _describe(self) -> str:
        if self._requested_version_id is not None:
            return f"secret {self.secret_id!r} (version {self._requested_version_id})"
        return f"secret {self.secret_id!r} (stage {self.version_stage})"

    def _context(self) -> dict[str, Any]:
        return {
            "secret_id": self.secret_id,
            "version_stage": self.version_stage,
            "requested_version_id": self._requested_version_id,
        }

    def __repr__(self) -> str:
        pinned = "" if self._requested_version_id is None else f", version_id={self._requested_version_id!r}"
        return f"Secret({self.secret_id!r}, version_stage={self.version_stage!r}{pinned})"


class Parameter(_Cached):
    """An SSM Parameter Store parameter (String, StringList or SecureString), cached like :class:`Secret`.

    Same cache, refresh, rotation and stale-if-error behaviour; ``.value`` is a
    ``str`` and ``.version_id`` is the parameter's version number as text.

    Args:
        name: The parameter's name or ARN; ``name:3`` or ``name:label`` selects a
            version or label.
        with_decryption: Decrypt a SecureString (needs ``kms:Decrypt``).
        ttl, max_stale, min_refresh_interval, backend: As for :class:`Secret`.
        client: A boto3 SSM client to use instead of the shared default one.

    Example:
        >>> FLAGS = Parameter("/prod/flags").prefetch()  # doctest: +SKIP
        >>> FLAGS.json()["new_checkout"]  # doctest: +SKIP
        True
    """

    __slots__ = ("name", "with_decryption")

    _kind = "parameter"
    _value_types = (str,)

    def __init__(
        self,
        name: str,
        *,
        ttl: float | None = None,
        with_decryption: bool = True,
        max_stale: float | None = None,
        min_refresh_interval: float | None = None,
        client: Any = None,
        backend: Backend | str | None = None,
    ) -> None:
        from lambda_kit.exceptions import ConfigurationError

        if not isinstance(name, str) or not 1 <= len(name) <= 2048:
            raise ConfigurationError(
                "name must be a parameter name or ARN of 1-2048 characters.", setting="name"
            )
        self.name = name
        self.with_decryption = bool(with_decryption)
        super().__init__(
            ttl=_unset_if_none(ttl),
            max_stale=_unset_if_none(max_stale),
            min_refresh_interval=_unset_if_none(min_refresh_interval),
            client=client,
            backend=backend,
        )

    @property
    def value(self) -> str:
        """The parameter's value, from memory while it is fresh (see :attr:`Secret.value`)."""
        entry = self._entry
        if entry is not None and _monotonic() < entry.expires:
            return entry.value  # type: ignore[return-value]  # parameters are always text
        return self._current().value  # type: ignore[return-value]

    def _fetch(self, backend: Backend, forced: bool) -> tuple[str | bytes, str]:
        return backend.get_parameter(self.name, with_decryption=self.with_decryption, forced=forced)

    def _describe(self) -> str:
        return f"parameter {self.name!r}"

    def _context(self) -> dict[str, Any]:
        return {"secret_id": self.name}

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, with_decryption={self.with_decryption!r})"


def _is_answer(answer: object, value_types: tuple[type, ...]) -> bool:
    """Whether a backend's answer is a ``(value, version_id)`` pair of the expected types."""
    return (
        isinstance(answer, tuple)
        and len(answer) == 2
        and isinstance(answer[0], value_types)
        and isinstance(answer[1], str)
    )


def _shape(answer: object) -> str:
    """A backend answer described by its types only (never its contents)."""
    if isinstance(answer, tuple):
        return (
            "a tuple of ("
            + ", ".join(type(item).__name__ for item in answer[:3])
            + (", ...)" if len(answer) > 3 else ")")
        )
    return f"a {type(answer).__name__}"


def _load_json(entry: _Entry) -> tuple[bool, Any]:
    """Parse ``entry.value`` as JSON: ``(True, document)``, or ``(False, why it is not JSON)``.

    Raises no Exception, and no local of this frame ever holds the value (it is read
    from ``entry`` inside the call), so a traceback printed with its frames' locals
    (Sentry, ``pytest -l``) cannot show it. The errors caught are never chained
    either: JSONDecodeError keeps the whole document in ``.doc`` and
    UnicodeDecodeError the whole value in ``.object``.
    """
    try:
        return True, json.loads(
            entry.value.decode("utf-8") if isinstance(entry.value, bytes) else entry.value
        )
    except UnicodeDecodeError:  # only our decode raises it: json.loads is given text
        return False, "binary, not UTF-8 JSON text; read .value instead"
    except json.JSONDecodeError as error:
        # Its message ends in "at" (the position follows) and, from the pure-Python
        # decoder, may quote one character of the value: keep only the fixed words before that.
        reason = error.msg.split(":", 1)[0]
        if reason.startswith("Invalid control character"):
            reason = "Invalid control character"
        reason = reason.removesuffix(" at")
        where = f" at line {error.lineno} column {error.colno}"
    except ValueError:
        # An integer longer than sys.get_int_max_str_digits() allows.
        reason, where = "a number has more digits than Python converts", ""
    except RecursionError:
        reason, where = "arrays or objects are nested too deeply to parse", ""
    except Exception as error:  # MemoryError, or whatever else: named, never quoted
        reason, where = f"it could not be parsed ({type(error).__name__})", ""
    return False, f"not valid JSON: {reason}{where}"


def _unset_if_none(value: float | _Unset | None) -> float | _Unset:
    if value is None:
        from lambda_kit._config import UNSET

        return UNSET
    return value


# Public names defined elsewhere, loaded on first access: the backends (and boto3 with
# them) only on the first fetch, Backend's protocol (and typing) only when user code
# names it, SecretError without importing lambda_kit.exceptions at import time.
_LAZY = {
    "Backend": "lambda_kit._secrets_types",
    "ExtensionBackend": "lambda_kit._secrets_backends",
    "SdkBackend": "lambda_kit._secrets_backends",
    "SecretError": "lambda_kit.exceptions",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:
    from lambda_kit._secrets_backends import ExtensionBackend, SdkBackend
    from lambda_kit.exceptions import SecretError
