"""The execution-environment lifecycle that lambda-kit's modules share.

Lambda runs a handler in an *execution environment*: one process that is
initialised once (INIT: the handler module is imported), then serves many
invocations, frozen between them. The first invocation of an environment is its
*cold start*; every later one is warm. With SnapStart, INIT runs once, the memory
is snapshotted, and many environments are *restored* from that snapshot, so
anything unique or connected (random seeds, sockets, credentials) made during INIT
must be rebuilt after a restore.

This module tracks all of it:

* :func:`is_cold_start` is ``True`` exactly during the first invocation of the
  environment (also when that invocation raises) and ``False`` in every later one.
  Invocations are marked by lambda-kit's handler decorators, or by wrapping the
  handler in :func:`track_invocations` yourself.
* :func:`on_before_snapshot` and :func:`on_after_restore` register hooks. They run
  through ``snapshot_restore_py`` where it is importable (the Lambda Python 3.12+
  runtime ships it) and are kept in a local registry in every case, so tests can
  fire them with :func:`lambda_kit.testing.simulate_snapshot` and
  :func:`lambda_kit.testing.simulate_restore`. lambda-kit's own pools, clients and
  secrets register no hook: lifecycle holds them weakly and renews them itself (see
  :data:`RESTORE_WARM_BUDGET`), and :func:`restore_generation` counts restores for
  caches that renew themselves on first use (nothing to register, so nothing leaks).
  After a restore, the next invocation counts as a cold start again: it is the first
  of a new environment.
* :func:`pause_gc_for_init` (opt-in) turns the garbage collector off for the rest of
  INIT and back on when it ends: at the first invocation, before a SnapStart
  snapshot, or at :func:`end_init`, freezing what INIT built so that later full
  collections never scan it again. Importing a typical function's packages makes
  tens of young-generation collections that find almost nothing to free; skipping
  them cut INIT CPU by 10-11 % (25-32 ms) in benchmarks/bench_init_gc.py
  (examples/tuned and a boto3 + pydantic module) for at most 0.11 MB more peak memory.
* :func:`remaining_time` is the time left before the invocation's deadline. A thread
  with no invocation of its own (a ``ThreadPoolExecutor`` worker: threads do not
  inherit context variables) gets the deadline of the one invocation in flight in
  the process or, when several are (Lambda Managed Instances), the earliest of
  theirs, so work done for a handler never outlives it.

Example:
    >>> from lambda_kit import lifecycle
    >>> @lifecycle.on_after_restore
    ... def reconnect() -> None:
    ...     ...
    >>> @lifecycle.track_invocations
    ... def handler(event: dict, context: object) -> dict:
    ...     return {"cold": lifecycle.is_cold_start()}
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import os
import threading
import time
import weakref

from lambda_kit._util import is_coroutine_function

TYPE_CHECKING = False  # typing is not preloaded by the runtime (docs/internals.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Literal, ParamSpec, Protocol, TypeAlias, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")
    Hook = TypeVar("Hook", bound=Callable[[], object])
    Phase: TypeAlias = Literal["before_snapshot", "after_restore"]

    class _Resource(Protocol):
        """What lambda-kit's pools, clients and secrets offer the SnapStart dispatcher (see ``_track``).

        ``_close_for_snapshot()`` runs before a snapshot. ``_warmups()`` runs after every
        restore, for every resource, in the dispatcher itself: after the restore
        generation has moved on and before any after-restore hook or warm-up, whatever
        :data:`RESTORE_WARM_BUDGET` is. It does the quick part of the renewal there (drop
        restored sockets, mark cached values stale) and returns the slow part (connects,
        fetches): callables given the budget's end, run in parallel within it.
        """

        def _close_for_snapshot(self) -> None: ...

        def _warmups(self) -> list[Callable[[float], object]]: ...


__all__ = [
    "InvocationToken",
    "current_request_id",
    "end_init",
    "end_invocation",
    "is_cold_start",
    "on_after_restore",
    "on_before_snapshot",
    "pause_gc_for_init",
    "remaining_time",
    "restore_generation",
    "start_invocation",
    "start_invocation_for",
    "track_invocations",
]

_lock = threading.Lock()
# The environment's first invocation (its context-variable entry); None until one starts.
# Identity, not the request id: Lambda retries a failed asynchronous invocation with the
# same request id, and a retry in the same environment is a warm invocation.
_first: tuple[str, float | None, object] | None = None  # the first invocation, by identity
# (request id, time.monotonic() deadline or None) of the invocation running in this
# thread / task: Lambda Managed Instances run several invocations in one process.
# One context variable, so starting an invocation is one set() and one reset().
_current: contextvars.ContextVar[tuple[str, float | None, object] | None] = contextvars.ContextVar(
    "lambda_kit_invocation", default=None
)
_anonymous_ids = itertools.count(1)
# Every invocation in flight in the process, by id() of the token that started it (alive
# until the invocation ends). A thread that runs no invocation of its own (an executor's worker:
# threads start with an empty context) takes its deadline from these. Atomic dict operations.
_inflight: dict[int, tuple[str, float | None, object]] = {}

_hooks: dict[Phase, list[Callable[[], object]]] = {
    "before_snapshot": [],
    "after_restore": [],
}
_runtime_registered = False
# pause_gc_for_init: None when the collector is not paused by lambda-kit, else whether
# end_init freezes. Read on the first invocation only (inside the `_first is None` branch).
_gc_paused: bool | None = None

# SnapStart restores this process has gone through. Caches remember the generation they
# were filled in and drop what is older on first use: no per-object hook, nothing leaks.
_generation = 0
# lambda-kit's pools, clients and secrets, held weakly: closed before a snapshot, renewed
# after a restore (see _track). Made on first use.
_resources: Any = None
# Threads that run the after-restore warm-ups, at most: each takes the next warm-up left.
_WARM_THREADS = 16

RESTORE_WARM_BUDGET = 1.0
"""Seconds the after-restore dispatcher gives lambda-kit's re-warming, all of it at once.

Warm-ups (TCP + TLS connects to the origins and AWS endpoints warmed during INIT,
and the refetch of every secret and parameter fetched before the snapshot) run in
parallel threads, alongside the after-restore hooks, and the dispatcher waits for
them until this budget has passed (every connect is cut there): a stalled server
cannot push restore past Lambda's 10 s limit. What is not done by then happens on
first use (a refetch still on the wire is waited for, not repeated). ``0`` turns
the warm-ups off.
"""


if TYPE_CHECKING:
    InvocationToken: TypeAlias = contextvars.Token[tuple[str, float | None, object] | None]
else:
    InvocationToken = contextvars.Token  # what start_invocation returns, end_invocation takes


def start_invocation(request_id: str | None = None, *, remaining_ms: float | None = None) -> InvocationToken:
    """Mark the start of an invocation in the current thread or task.

    The first request id ever started is the environment's cold start. Starting the
    same request id twice (two lambda-kit decorators on one handler) counts once.

    Args:
        request_id: ``context.aws_request_id``; ``None`` (no context, as in some
            unit tests) gets a unique local id.
        remaining_ms: ``context.get_remaining_time_in_millis()`` at the start; it
            sets the deadline that :func:`remaining_time` counts down to.

    Returns:
        A token for :func:`end_invocation`.
    """
    if request_id is None:
        request_id = f"local-{next(_anonymous_ids)}"
    deadline = None if remaining_ms is None else time.monotonic() + remaining_ms / 1000.0
    return _enter((request_id, deadline, None))


def _enter(entry: tuple[str, float | None, object]) -> InvocationToken:
    """Make ``entry`` the current invocation; the first ever entered is the cold start.

    A second lambda-kit decorator on the same handler enters the same request id while
    the first is still current: that is the same invocation, so its entry is reused.
    """
    global _first
    current = _current.get()
    if current is not None and current[0] == entry[0]:
        return _current.set(current)
    if _first is None:  # checked again under the lock; warm invocations skip it
        with _lock:
            if _first is None:
                _first = entry
        if _gc_paused is not None:
            end_init()
    token = _current.set(entry)
    _inflight[id(token)] = entry
    return token


def end_invocation(token: InvocationToken) -> None:
    """Mark the end of the invocation that :func:`start_invocation` returned ``token`` for."""
    _current.reset(token)  # raises for a token of another context: then nothing is forgotten
    _inflight.pop(id(token), None)  # an inner start of the same invocation has no entry of its own


def current_request_id() -> str | None:
    """The request id of the invocation running in this thread or task, if any."""
    current = _current.get()
    return None if current is None else current[0]


def remaining_time() -> float | None:
    """Seconds left before the current invocation's deadline, or ``None`` if unknown.

    Known inside a handler wrapped by :func:`track_invocations` (or any lambda-kit
    handler decorator) that received a Lambda context. Never negative.

    A thread that runs no invocation of its own, such as a ``ThreadPoolExecutor``
    worker (threads do not inherit context variables), gets:

    * the remaining time of the invocation in flight, when there is exactly one;
    * the smallest remaining time among them, when several are in flight (Lambda
      Managed Instances): the worker may be serving any of them, and must not outlive
      the one that ends first;
    * ``None`` when none is.

    To give a worker exactly its own invocation, run it in a copy of the handler's
    context: ``executor.submit(contextvars.copy_context().run, work, item)``
    (``asyncio.to_thread`` does this already).

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from lambda_kit import lifecycle
        >>> @lifecycle.track_invocations
        ... def handler(event: dict, context: object) -> list:
        ...     with ThreadPoolExecutor(4) as pool:  # each worker sees the handler's deadline
        ...         return list(pool.map(lambda _: lifecycle.remaining_time(), range(4)))
    """
    current = _current.get()
    if current is None:
        return _earliest_remaining() if _inflight else None
    return _remaining_of(current)


def _earliest_remaining() -> float | None:
    """The smallest remaining time among the invocations in flight (``None`` if none is known)."""
    earliest: float | None = None
    for entry in tuple(_inflight.values()):  # a copy, made in one C call: other threads change it
        left = _remaining_of(entry)
        if left is not None and (earliest is None or left < earliest):
            earliest = left
    return earliest


def _remaining_of(entry: tuple[str, float | None, object]) -> float | None:
    _, deadline, context = entry
    if deadline is not None:
        return max(0.0, deadline - time.monotonic())
    if context is None:
        return None
    try:  # read from the context on demand: most invocations never ask
        value = context.get_remaining_time_in_millis()  # type: ignore[attr-defined]
    except Exception:  # no usable clock on this context: no deadline
        return None
    if not isinstance(value, (int, float)) or value != value:  # not a number, or NaN
        return None
    return max(0.0, value / 1000.0)


def is_cold_start() -> bool:
    """Whether the current invocation is the first of this execution environment.

    Returns ``True`` during INIT and during the first invocation (whether it
    succeeds or raises), ``False`` in every later invocation, and ``False`` in a
    thread that is not running an invocation once the first one has started.
    """
    first = _first
    return first is None or _current.get() is first


def start_invocation_for(context: object) -> InvocationToken:
    """:func:`start_invocation` with the request id and deadline read from a Lambda context.

    Anything without ``aws_request_id`` / ``get_remaining_time_in_millis`` (``None``
    in a unit test, say) is accepted: the invocation then has a local id and no
    deadline.
    """
    global _first
    request_id = getattr(context, "aws_request_id", None)
    if type(request_id) is not str:
        return start_invocation(None)
    # _enter, inlined: this runs on every invocation of every lambda-kit handler.
    current = _current.get()
    if current is not None and current[0] == request_id:
        return _current.set(current)
    entry = (request_id, None, context)  # the deadline is read only when remaining_time() asks
    if _first is None:
        with _lock:
            if _first is None:
                _first = entry
        if _gc_paused is not None:
            end_init()
    token = _current.set(entry)
    _inflight[id(token)] = entry
    return token


def pause_gc_for_init(*, freeze: bool = True) -> bool:
    """Turn the garbage collector off until INIT ends (opt-in; call it first in the module).

    INIT imports packages and builds module state: tens of thousands of objects that
    live as long as the environment. The collector scans them in tens of young
    collections that free almost nothing, and a full collection, when allocation
    crosses its threshold, costs tens of milliseconds. Paused, none of that runs;
    the collector comes back on when INIT ends, which lambda-kit notices at the
    first invocation that any of its handler adapters (or :func:`track_invocations`)
    starts, before a SnapStart snapshot, or when you call :func:`end_init`.

    Call it at the top of the handler module, before the heavy imports. If your
    handler is not wrapped by lambda-kit, call :func:`end_init` at the end of the
    module: nothing else would turn the collector back on.

    Args:
        freeze: When INIT ends, move every object INIT made to the permanent
            generation (``gc.freeze()``) before collecting again, so later full
            collections skip them. Reference cycles that became garbage during INIT
            are then kept for the environment's life (measured: at most 0.11 MB of
            peak memory).

    Returns:
        True if the collector was paused; False (nothing changed) when it was off
        already (you manage it yourself) or INIT is over (an invocation has started).

    Example:
        >>> from lambda_kit import lifecycle
        >>> lifecycle.pause_gc_for_init()  # doctest: +SKIP
        True
    """
    global _gc_paused
    import gc

    with _lock:
        if _first is not None or _gc_paused is not None or not gc.isenabled():
            return False
        _gc_paused = freeze
        gc.disable()
    _ensure_runtime_hooks()  # so a SnapStart snapshot ends INIT too
    return True


def end_init() -> None:
    """End what :func:`pause_gc_for_init` started: freeze (if asked) and collect again.

    Called for you at the first invocation of a lambda-kit handler and before a
    SnapStart snapshot; safe to call any number of times, and a no-op when the
    collector was not paused by lambda-kit.
    """
    global _gc_paused
    import gc

    with _lock:
        freeze, _gc_paused = _gc_paused, None
        if freeze is None:
            return
        if freeze:
            gc.freeze()
        gc.enable()


def track_invocations(handler: Callable[P, R]) -> Callable[P, R]:
    """Decorate a Lambda handler so that :func:`is_cold_start` knows its invocations.

    lambda-kit's own handler decorators do this already; use it on a plain handler.
    Works on sync and async handlers. Also registers lambda-kit's SnapStart
    dispatcher during INIT, so a restored environment starts cold again.
    """
    return wrap_invocation(handler)


def wrap_invocation(
    handler: Callable[P, R],
    *,
    on_start: Callable[[object], None] | None = None,
    on_finish: Callable[[], None] | None = None,
) -> Callable[P, R]:
    """Wrap a sync or async handler ``(event, context)`` in an invocation (internal building block).

    The invocation starts before ``on_start(context)`` and ends after ``on_finish()``,
    which runs in ``finally`` (also when the handler raises). If ``on_start`` raises,
    the invocation ends and the error propagates without calling the handler.
    """
    _ensure_runtime_hooks()

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> InvocationToken:
        context = kwargs.get("context", args[1] if len(args) > 1 else None)
        token = start_invocation_for(context)
        if on_start is not None:
            try:
                on_start(context)
            except BaseException:
                end_invocation(token)
                raise
        return token

    def finish(token: InvocationToken) -> None:
        try:
            if on_finish is not None:
                on_finish()
        finally:
            end_invocation(token)

    if is_coroutine_function(handler):

        @functools.wraps(handler)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            token = start(args, kwargs)
            try:
                return await handler(*args, **kwargs)  # type: ignore[misc]  # R is an awaitable here
            finally:
                finish(token)

        return async_wrapper  # type: ignore[return-value]  # same signature, async

    # The sync wrapper runs on every invocation of every decorated handler: start() and
    # finish() are inlined in it, with the warm path of start_invocation_for and
    # end_invocation (each call saved is ~0.05 us of the ~0.4 us an invocation costs).
    current = _current
    inflight = _inflight

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            context = kwargs.get("context", args[1] if len(args) > 1 else None)
        else:
            context = args[1] if len(args) > 1 else None
        request_id = getattr(context, "aws_request_id", None)
        if _first is not None and type(request_id) is str:
            # start_invocation_for's warm path, inlined (INIT is over, a real request id).
            entry = current.get()
            if entry is not None and entry[0] == request_id:
                token = current.set(entry)  # an outer adapter started this invocation already
            else:
                entry = (request_id, None, context)
                token = current.set(entry)
                inflight[id(token)] = entry
        else:
            token = start_invocation_for(context)
        if on_start is not None:
            try:
                on_start(context)
            except BaseException:
                end_invocation(token)
                raise
        try:
            return handler(*args, **kwargs)
        finally:
            try:
                if on_finish is not None:
                    on_finish()
            finally:
                current.reset(token)  # end_invocation(token), inlined
                inflight.pop(id(token), None)

    return wrapper


def restore_generation() -> int:
    """How many SnapStart restores this process has gone through: 0 until the first.

    A cache of connected or unique things made during INIT (connections, seeded
    generators) can remember the generation it was filled in and drop its contents on
    first use once the generation has moved on. Unlike an :func:`on_after_restore`
    hook, nothing is registered, so a cache that is garbage-collected leaves nothing
    behind. lambda-kit's HTTP sessions renew their pools this way. Call it first
    during INIT: that registers the SnapStart dispatcher which counts the restores.

    Example:
        >>> from lambda_kit import lifecycle
        >>> class Connections:
        ...     def __init__(self) -> None:
        ...         self.generation, self.made = lifecycle.restore_generation(), {}
        ...
        ...     def get(self, name: str) -> object:
        ...         if self.generation != lifecycle.restore_generation():  # restored since
        ...             self.generation, self.made = lifecycle.restore_generation(), {}
        ...         return self.made.setdefault(name, object())
    """
    if not _runtime_registered:  # nothing counts restores until the dispatcher is registered
        _ensure_runtime_hooks()
    return _generation


def _track(resource: _Resource) -> None:
    """Have the SnapStart dispatcher close ``resource`` before a snapshot and renew it after a restore.

    Held weakly: a resource that is garbage-collected drops out by itself. Adding the
    same resource again changes nothing. Registers the dispatchers with the SnapStart
    runtime, so a function that only keeps a client or a secret (no hook, no
    lambda-kit decorator) is renewed too.
    """
    global _resources
    if _resources is None:
        with _lock:
            if _resources is None:
                _resources = weakref.WeakSet()
    _resources.add(resource)
    if not _runtime_registered:
        _ensure_runtime_hooks()


def on_before_snapshot(hook: Hook) -> Hook:
    """Register ``hook`` to run before a SnapStart snapshot is taken (a decorator too).

    Hooks run in registration order. Use it to close connections and drop state that
    must not be copied into every restored environment.
    """
    return _register("before_snapshot", hook)


def on_after_restore(hook: Hook) -> Hook:
    """Register ``hook`` to run after an environment is restored from a snapshot.

    Hooks run in registration order, after lambda-kit has reset its cold-start
    tracking. Use it to reconnect, refetch secrets and reseed randomness. On Lambda,
    restore plus all after-restore hooks must finish within 10 seconds.
    """
    return _register("after_restore", hook)


def _register(phase: Phase, hook: Hook) -> Hook:
    if not callable(hook):
        raise TypeError(f"A {phase} hook must be callable, got {type(hook).__name__}.")
    with _lock:
        _hooks[phase].append(hook)
    _ensure_runtime_hooks()
    return hook


def _ensure_runtime_hooks() -> None:
    """Register lambda-kit's two dispatchers with the SnapStart runtime, once."""
    global _runtime_registered
    with _lock:
        if _runtime_registered:
            return
        _runtime_registered = True
    # Only a SnapStart function ever snapshots; elsewhere importing the module would
    # only cost INIT time (it pulls in typing; docs/internals.md).
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return
    try:
        import snapshot_restore_py
    except ImportError:  # not on Lambda's SnapStart runtime: the local registry serves
        return
    snapshot_restore_py.register_before_snapshot(_run_hooks, "before_snapshot")
    snapshot_restore_py.register_after_restore(_run_hooks, "after_restore")


def _run_hooks(phase: Phase) -> None:
    """Run every hook of ``phase``; raise :class:`LifecycleHookError` if any failed.

    Before a snapshot, lambda-kit's tracked resources are closed first. After a
    restore, the cold-start tracking is reset and the restore generation moves on
    first; then every tracked resource renews what it must before any use and hands
    over its warm-ups, which start in parallel threads; the hooks run, and the
    dispatcher waits for the warm-ups only until :data:`RESTORE_WARM_BUDGET` has passed.

    Every hook runs even when an earlier one raised, so one broken pool cannot stop
    the others from reconnecting.
    """
    global _first, _generation
    # The WeakSet's own set of references, copied in one C call: iterating the WeakSet while
    # another thread adds to it would raise.
    refs = list(_resources.data) if _resources is not None else []
    resources: list[_Resource] = [kept for kept in (ref() for ref in refs) if kept is not None]
    warming: list[Any] = []
    end = 0.0
    if phase == "before_snapshot" and _gc_paused is not None:
        end_init()  # INIT ends here for a SnapStart function: the snapshot holds a frozen heap
    if phase == "after_restore":
        with _lock:
            _first = None
            _generation += 1
        end = time.monotonic() + RESTORE_WARM_BUDGET
        warming = _start_warmups(_collect_warmups(resources), end)
    else:
        for resource in resources:
            try:
                resource._close_for_snapshot()
            except Exception:  # noqa: S112 - best effort: a restored copy drops a stale socket anyway
                continue
    with _lock:
        hooks = list(_hooks[phase])
    failures: list[BaseException] = []
    for hook in hooks:
        try:
            hook()
        except Exception as error:  # collected and re-raised below
            failures.append(error)
    for thread in warming:
        thread.join(max(0.0, end - time.monotonic()))  # never past the budget
    if failures:
        from lambda_kit.exceptions import LifecycleHookError  # loaded only when a hook failed

        names = ", ".join(type(error).__name__ for error in failures)
        raise LifecycleHookError(
            f"{len(failures)} of {len(hooks)} {phase} hooks raised ({names}); "
            "every hook must complete for the environment to be usable.",
            phase=phase,
            failures=len(failures),
        ) from failures[0]


def _collect_warmups(resources: list[_Resource]) -> list[Callable[[float], object]]:
    """Every tracked resource's warm-ups, asked for in this thread, before any of them runs.

    Asking is itself the resources' renewal (see ``_Resource``), so it happens whatever
    the budget; one that raises is skipped (best effort: it renews on first use).
    """
    warmups: list[Callable[[float], object]] = []
    for resource in resources:
        try:
            warmups.extend(resource._warmups())
        except Exception:  # noqa: S112 - best effort: a resource that cannot say renews on first use
            continue
    return warmups


def _start_warmups(warmups: list[Callable[[float], object]], end: float) -> list[Any]:
    """Run ``warmups`` in up to ``_WARM_THREADS`` daemon threads; return the threads.

    Each warm-up is given ``end`` (a ``time.monotonic()`` value) and cuts its connects
    there; one that raises is ignored (best effort: the first request reports it), and
    one not started by ``end`` is skipped (what it would renew renews on first use).
    """
    if not warmups or end <= time.monotonic():  # RESTORE_WARM_BUDGET <= 0: re-warming is off
        return []
    pending = warmups[::-1]  # taken from the end, so in order; list.pop() is atomic
    threads = []
    for _ in range(min(len(warmups), _WARM_THREADS)):
        thread = threading.Thread(
            target=_warm_pending, args=(pending, end), name="lambda-kit-rewarm", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def _warm_pending(pending: list[Callable[[float], object]], end: float) -> None:
    """Run the warm-ups left in ``pending``, one at a time, until none is left or ``end`` has passed."""
    while time.monotonic() < end:
        try:
            warmup = pending.pop()
        except IndexError:  # another thread took the last one
            return
        try:
            warmup(end)
        except Exception:  # noqa: S112 - best effort: the first request reports an unreachable origin
            continue


def _reset_for_tests() -> None:
    """Forget every invocation and hook (used by lambda_kit.testing).

    lambda-kit's own pools, clients and secrets stay tracked and the restore
    generation keeps counting: they are renewed by the dispatcher and by generation,
    not through the forgotten hooks.
    """
    global _first, _runtime_registered
    end_init()
    with _lock:
        _first = None
        _runtime_registered = False
        _inflight.clear()
        for hooks in _hooks.values():
            hooks.clear()
