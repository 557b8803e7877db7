"""The Emulator: a function with a pool of execution environments (internal)."""

from __future__ import annotations

import json
import os
import sys
import threading
import weakref

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator._cgroup import Limits
from lambda_kit_dev.emulator._config import FunctionConfig, check_tenant_id
from lambda_kit_dev.emulator._environment import (
    Environment,
    check_payload,
    compile_shim,
    interpreter_version,
)
from lambda_kit_dev.emulator._layers import Layers, check_layer, inspect_layer
from lambda_kit_dev.emulator._python import Interpreter
from lambda_kit_dev.emulator._python import resolve as resolve_python
from lambda_kit_dev.exceptions import EmulatorError
from lambda_kit_dev.stand_ins._aws import AwsStandIn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from types import TracebackType
    from typing import IO, Any

    from typing_extensions import Self

    from lambda_kit_dev.emulator._report import Invocation


class Emulator:
    """Run a handler under the real ``awslambdaric`` runtime client, locally.

    Each execution environment is a fresh ``python -m awslambdaric module.handler``
    process talking to this emulator's Runtime API over loopback. The first
    invocation of an environment is a cold start (INIT is measured); later ones are
    warm. Invocations from several threads at once run in several environments, as
    Lambda scales out. A supervisor process per environment (see ``_supervisor.py``)
    makes sure that every process the function starts, however it detaches, ends
    with the environment.

    Args:
        handler: ``module.function`` as in Lambda's handler setting.
        task_root: The directory holding the handler's code (``/var/task`` on
            Lambda); the current directory by default.
        memory_mb: The configured memory, 128-10240 MB (reported; enforced, with
            the CPU share that goes with it, when ``limits`` is on).
        timeout_s: The function timeout; a longer invocation is killed, reported as
            ``Status: timeout``, and the next invocation is a cold start. Lambda
            takes whole seconds from 1 to 900; the emulator also takes fractions.
        init_timeout_s: The limit on INIT (Lambda's is 10 s).
        env: The function's environment variables. The caller's environment is not
            inherited (a Lambda function's isn't), except ``PATH`` and ``HOME``.
        python: The interpreter to run the runtime with: this one by default (it
            needs ``awslambdaric``); a version such as ``"3.12"`` or ``"python3.12"``
            for Lambda's runtime of that version, a clean environment with only
            ``awslambdaric`` and ``boto3``, prepared once under the user cache
            directory from an interpreter found under pyenv or on ``PATH``; or the
            path of an interpreter that has ``awslambdaric``.
        layers: Lambda layers, zips or directories (a layer's root, which holds
            ``python/``), in order: laid out as Lambda's ``/opt`` (a later layer's
            file replaces an earlier one's), with ``python/lib/python3.X/site-packages``
            and ``python/`` on ``sys.path`` after the task root. A layer built for
            another Python or machine than the interpreter's is refused.
        python_path: Extra directories for the child's ``sys.path``, after the
            layers (not treated as read-only code: see below).
        function_name: ``AWS_LAMBDA_FUNCTION_NAME``; the handler's module by default
            (dots become dashes). Any text of up to 4096 characters without control
            characters or surrounding whitespace reaches the runtime unchanged.
        region: ``AWS_REGION`` (the same rule as ``function_name``).
        aws: ``True`` to start an :class:`AwsStandIn` (moto on 127.0.0.1) for the
            lifetime of the emulator; a running stand-in to share; or one not yet
            started (``AwsStandIn(seed="seed.yaml")``), which the emulator starts
            and stops with itself.
        count_aws_calls: Count the function's AWS API calls (a bootstrap shim hooks
            botocore's event system in the child; it adds well under 1 ms to INIT).
        import_profile: Run the child with ``-X importtime`` and report INIT's imports
            (this slows INIT a little: use it for profiles, not for timings).
        max_environments: How many environments may run at once; one more concurrent
            invocation is throttled with ``TooManyRequestsException``, as on Lambda.
        echo: A text stream that receives each invocation's log (function output and
            START / END / REPORT lines) as it completes.
        limits: Give each environment Lambda's CPU share for ``memory_mb``
            (``memory_mb / 1769`` vCPUs, two vCPUs during INIT up to 3,008 MB; each
            share calibrated on this machine once per process) and enforce the
            memory (past it: ``Runtime.OutOfMemory``, as on Lambda), through Linux
            control groups; see :mod:`lambda_kit_dev.emulator._cgroup`. Default:
            ``LAMBDA_KIT_LIMITS`` (``1`` for on), else off. Where the platform cannot
            limit (no cgroup rights, macOS), environments run unlimited and every
            :class:`Report` says so in ``limits_notice``.
        tenant_isolation: Tenant isolation mode (Lambda's ``TenancyConfig``
            ``PER_TENANT``): every invocation names its tenant
            (``invoke(event, tenant_id=...)``), an environment serves one tenant only
            (a tenant's first invocation is a cold start, whoever else is warm), and
            the runtime receives the id as ``Lambda-Runtime-Aws-Tenant-Id``
            (``context.tenant_id``). Off: an invocation naming a tenant is refused.

    The task root and the layers behave as Lambda's read-only code directories: no
    bytecode is written beside them, and a timestamp-based ``.pyc`` there does not
    count (a deployment package does not keep the times it was compiled against), so
    Init Duration includes the compiling Lambda would do. Hash-based ``.pyc``, as
    ``lambda-kit layer`` writes them, are used as on Lambda.

    Raises:
        EmulatorError: awslambdaric is missing for the interpreter (the message says
            how to install it), or a runtime environment could not be prepared.
        ConfigurationError: A setting is out of range, or a value cannot reach the
            runtime intact: a NUL in the handler, the environment or ``python_path``
            (or ``os.pathsep`` in ``python_path``), an environment variable name with
            ``=``, a control character in ``function_name`` or ``region``; no
            interpreter of the version asked for; a layer that is not a zip or a
            layer directory, or is built for another Python or machine.

    Example:
        >>> with Emulator("app.handler", task_root="examples/plain") as fn:  # doctest: +SKIP
        ...     result = fn.invoke({"path": "/"})
        ...     print(result.report.report_line())
    """

    def __init__(
        self,
        handler: str,
        *,
        task_root: str | os.PathLike[str] | None = None,
        memory_mb: int = 128,
        timeout_s: float = 3.0,
        init_timeout_s: float = 10.0,
        env: Mapping[str, str] | None = None,
        python: str | os.PathLike[str] | None = None,
        layers: Sequence[str | os.PathLike[str]] = (),
        python_path: Sequence[str | os.PathLike[str]] = (),
        function_name: str | None = None,
        region: str = "us-east-1",
        aws: bool | AwsStandIn = False,
        count_aws_calls: bool = True,
        import_profile: bool = False,
        max_environments: int = 10,
        echo: IO[str] | None = None,
        limits: bool | None = None,
        tenant_isolation: bool = False,
    ) -> None:
        module, dot, function = handler.rpartition(".")
        if not dot or not module or not function or not _passable(handler):
            raise ConfigurationError(
                f"Invalid handler {handler!r}; expected 'module.function', e.g. 'app.handler' "
                "(no NUL characters).",
                setting="handler",
                value=handler,
            )
        if function_name is None:
            function_name = default_function_name(module)
        for setting, text in (("function_name", function_name), ("region", region)):
            problem = unfit(text)
            if problem is not None:
                raise ConfigurationError(
                    f"Invalid {setting} {text!r}: it {problem}. It is sent to the runtime in "
                    "the environment and in a header, which carry any other text.",
                    setting=setting,
                    value=text,
                )
        if not 128 <= memory_mb <= 10240:
            raise ConfigurationError(
                f"Invalid memory_mb={memory_mb}; Lambda allows 128 to 10240 MB.",
                setting="memory_mb",
                value=memory_mb,
            )
        for name, value in (("timeout_s", timeout_s), ("init_timeout_s", init_timeout_s)):
            if not 0 < value <= 900:
                raise ConfigurationError(
                    f"Invalid {name}={value}; expected more than 0 and at most 900 seconds.",
                    setting=name,
                    value=value,
                )
        if max_environments < 1:
            raise ConfigurationError(
                f"Invalid max_environments={max_environments}; expected at least 1.",
                setting="max_environments",
                value=max_environments,
            )
        root = os.path.abspath(os.fspath(task_root) if task_root is not None else os.getcwd())
        if not os.path.isdir(root):
            raise ConfigurationError(
                f"task_root {root!r} is not a directory; expected the handler's code directory.",
                setting="task_root",
                value=root,
            )
        interpreter, facts = resolve_python(python)
        compile_shim(interpreter)
        paths = tuple(os.path.abspath(os.fspath(p)) for p in python_path)
        for path in paths:
            if os.pathsep in path or not _passable(path):
                raise ConfigurationError(
                    f"python_path entry {path!r} cannot be put on PYTHONPATH, which separates "
                    f"entries with {os.pathsep!r} (and a NUL character cannot be passed at all).",
                    setting="python_path",
                    value=path,
                )
        self._layers = Layers(layers)
        try:
            layer_path = self._layer_path(interpreter, facts)
        except BaseException:
            self._layers.close()
            raise
        self.interpreter = facts
        self._own_aws = aws is True or (isinstance(aws, AwsStandIn) and not aws.running)
        self._aws: AwsStandIn | None = AwsStandIn(region=region) if aws is True else aws or None
        self._env = _checked_env(env or {})
        self._config = FunctionConfig(
            handler=handler,
            task_root=root,
            memory_mb=memory_mb,
            timeout_s=float(timeout_s),
            init_timeout_s=float(init_timeout_s),
            env=self._env,
            python=interpreter,
            function_name=function_name,
            region=region,
            count_aws_calls=count_aws_calls,
            python_path=paths,
            layer_path=tuple(layer_path),
            code_roots=tuple(filter(None, (root, self._layers.root))),
            layer_bin=self._layers.directory("bin"),
            layer_lib=self._layers.directory("lib"),
        )
        self.import_profile = import_profile
        # For the environments started from now on (bench counts calls in untimed runs only).
        self.count_aws_calls = count_aws_calls
        self.limits = Limits(memory_mb, enabled=_limits_on(limits))
        self.max_environments = max_environments
        self.echo = echo
        self._lock = threading.Lock()
        self._idle: list[Environment] = []
        self._busy: set[Environment] = set()
        self.tenant_isolation = bool(tenant_isolation)
        self._tenant_of: dict[Environment, str | None] = {}  # the tenant each live environment serves
        self._closing: list[threading.Thread] = []  # environments being released in the background
        self._closed = False
        # An emulator dropped without close() must not leave runtimes behind: at garbage
        # collection or interpreter exit, kill what its environments run.
        self._finalizer = weakref.finalize(self, _kill_groups, self._idle, self._busy, self._layers)

    def _layer_path(self, interpreter: str, facts: Interpreter | None) -> list[str]:
        """The layers' sys.path entries, once each layer is checked against the interpreter."""
        if self._layers.root is None:
            return []
        if facts is not None:
            version, machine = facts.version, facts.machine
        elif interpreter == sys.executable:
            import platform

            version, machine = (sys.version_info[0], sys.version_info[1]), platform.machine()
        else:  # an interpreter that cannot say what it is fails when the runtime starts
            version, machine = interpreter_version(interpreter), ""
        for source in self._layers.sources:  # each on its own: an error names its layer
            check_layer(source, inspect_layer(source), version, machine or platform_machine(), interpreter)
        for entry in self._layers.python_path(version):
            if os.pathsep in entry or not _passable(entry):
                raise ConfigurationError(
                    f"Layer path {entry!r} cannot be put on PYTHONPATH, which separates entries "
                    f"with {os.pathsep!r}.",
                    setting="layers",
                    value=entry,
                )
        return self._layers.python_path(version)

    @property
    def layer_root(self) -> str | None:
        """The layers laid out as Lambda's ``/opt`` (None without layers)."""
        return self._layers.root

    @property
    def config(self) -> FunctionConfig:
        """The emulated function's configuration."""
        return self._config

    @property
    def aws(self) -> AwsStandIn | None:
        """The AWS stand-in the function talks to, if any."""
        return self._aws

    @property
    def environments(self) -> int:
        """How many execution environments are alive (idle or busy)."""
        with self._lock:
            return len(self._idle) + len(self._busy)

    def _prepare_aws(self) -> None:
        if self._aws is None:
            return
        if self._own_aws:
            self._aws.start()
        for key, value in self._aws.environ().items():
            self._env.setdefault(key, value)

    def invoke(
        self,
        event: Any = None,
        *,
        payload: bytes | str | None = None,
        fresh: bool = False,
        tenant_id: str | None = None,
    ) -> Invocation:
        """Invoke the function synchronously, as ``aws lambda invoke`` would.

        Args:
            event: A JSON-serialisable event (``{}`` when omitted).
            payload: The raw request body instead of ``event``: JSON text or bytes.
            fresh: Start a new execution environment (a cold start) for this call.
            tenant_id: The tenant, in tenant isolation mode (required there, refused
                otherwise): ``aws lambda invoke --tenant-id``.

        Returns:
            The response, errors, logs and the REPORT figures.

        Raises:
            EmulatorError: The payload is not JSON or is over 6 MB, the emulator is
                closed, or every allowed environment is busy (throttled).
            ConfigurationError: A tenant id missing in tenant isolation mode, given
                outside it, or not one Lambda takes (1 to 256 characters of letters,
                digits, spaces and ``._:/=+-@``).
        """
        self._check_tenant(tenant_id)
        data = _encode(event, payload)
        environment = self._acquire(fresh, tenant_id)
        try:
            invocation = environment.invoke(data, "application/json", tenant_id=tenant_id)
        finally:
            self._release(environment)
        if self.echo is not None:
            self.echo.write(invocation.log)
            self.echo.flush()
        return invocation

    def new_environment(self) -> Environment:
        """A new execution environment of this function, outside the emulator's pool.

        For schedulers of their own (``lambda-kit load``, see :mod:`lambda_kit_dev.load`):
        the caller invokes it with ``environment.invoke(payload, content_type)`` and
        closes it. The AWS stand-in is started first, if there is one.
        """
        with self._lock:
            if self._closed:
                raise EmulatorError("This emulator is closed; create a new one.")
            self._prepare_aws()
        return self._create_environment()

    def _create_environment(self) -> Environment:
        """A new, not yet started, execution environment (SnapStart restores from a snapshot)."""
        config = self._config
        if config.count_aws_calls != self.count_aws_calls:
            import dataclasses

            config = dataclasses.replace(config, count_aws_calls=self.count_aws_calls)
        return Environment(config, import_profile=self.import_profile, limits=self.limits)

    def invoke_all(self, events: Iterable[Any], *, concurrency: int = 2) -> list[Invocation]:
        """Invoke once per event from ``concurrency`` threads; results in event order."""
        from concurrent.futures import ThreadPoolExecutor

        if concurrency < 1:
            raise ConfigurationError(
                f"Invalid concurrency={concurrency}; expected at least 1.",
                setting="concurrency",
                value=concurrency,
            )
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(self.invoke, events))

    def reset(self) -> None:
        """Stop every idle environment: the next invocation is a cold start."""
        with self._lock:
            idle = self._idle[:]
            self._idle.clear()
            for environment in idle:
                self._tenant_of.pop(environment, None)
        _retire(idle, wait=True)

    def close(self) -> None:
        """Stop every environment (and the AWS stand-in if the emulator started it)."""
        with self._lock:
            self._closed = True
            environments = [*self._idle, *self._busy]
            self._idle.clear()
            self._tenant_of.clear()
            self._busy.clear()
            closing, self._closing = self._closing, []
        _retire(environments, wait=True)
        for thread in closing:
            thread.join()
        self._finalizer.detach()
        self._layers.close()
        if self._own_aws and self._aws is not None:
            self._aws.stop()

    def _check_tenant(self, tenant_id: str | None) -> None:
        if tenant_id is not None:
            check_tenant_id(tenant_id)
        if self.tenant_isolation and tenant_id is None:
            raise ConfigurationError(
                "This function is in tenant isolation mode: every invocation needs a tenant id "
                "(invoke(event, tenant_id=...)).",
                setting="tenant_id",
            )
        if not self.tenant_isolation and tenant_id is not None:
            raise ConfigurationError(
                "A tenant id was given but the function is not in tenant isolation mode "
                "(Emulator(..., tenant_isolation=True)).",
                setting="tenant_id",
                value=tenant_id,
            )

    def _acquire(self, fresh: bool, tenant: str | None = None) -> Environment:
        retired: list[Environment] = []
        with self._lock:
            if self._closed:
                raise EmulatorError("This emulator is closed; create a new one.")
            if not self._busy and not self._idle:
                self._prepare_aws()
            if fresh:
                retired = self._idle[:]
                self._idle.clear()
            # An idle runtime may have died since its last invocation (a crash in a
            # background thread, say); Lambda would start a new environment.
            retired += [environment for environment in self._idle if not environment.reusable]
            self._idle[:] = [environment for environment in self._idle if environment.reusable]
            # The most recently used idle environment of this tenant (of no tenant outside
            # tenant isolation mode): environments are never shared between tenants.
            tenant_of = self._tenant_of
            mine = [i for i, environment in enumerate(self._idle) if tenant_of.get(environment) == tenant]
            if mine:
                environment = self._idle.pop(mine[-1])
            elif len(self._busy) >= self.max_environments:
                raise EmulatorError(
                    f"Rate exceeded: all {self.max_environments} execution environments are busy "
                    "(raise max_environments to allow more concurrency).",
                    code="TooManyRequestsException",
                    max_environments=self.max_environments,
                )
            else:
                if self._idle and len(self._busy) + len(self._idle) >= self.max_environments:
                    # Other tenants' idle environments: the least recently used one makes
                    # room (Lambda reclaims idle environments; here processes stay bounded).
                    retired.append(self._idle.pop(0))
                environment = self._create_environment()
                self._tenant_of[environment] = tenant
            self._busy.add(environment)
            for gone in retired:
                self._tenant_of.pop(gone, None)
        if retired:
            closing = _retire(retired)
            with self._lock:
                self._closing = [thread for thread in self._closing if thread.is_alive()] + closing
        return environment

    def _release(self, environment: Environment) -> None:
        with self._lock:
            self._busy.discard(environment)
            keep = environment.reusable and not self._closed
            if keep:
                self._idle.append(environment)
                return
            self._tenant_of.pop(environment, None)
            # Stopping the server waits for its polling loop: not on the caller's time.
            self._closing = [thread for thread in self._closing if thread.is_alive()]
            self._closing += _retire([environment])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Emulator({self._config.handler!r}, environments={self.environments})"


NAME_LIMIT = 4096
"""The longest function name or region the emulator takes, in characters.

Lambda allows 64 characters; the limit here is what any header and environment
variable can carry whatever the characters (up to 16 KiB once UTF-8 encoded).
"""


def unfit(text: str) -> str | None:
    """Why ``text`` cannot reach the runtime intact as a header value, or None.

    Values are sent UTF-8 encoded, so any character can be carried, except: control
    characters (CR and LF would end the header), lone surrogates (no UTF-8 form),
    and whitespace at either end (HTTP drops it).
    """
    if not isinstance(text, str) or not text:
        return "is not a non-empty string"
    if len(text) > NAME_LIMIT:
        return f"is {len(text)} characters long, over the limit of {NAME_LIMIT}"
    if text[0].isspace() or text[-1].isspace():
        return "starts or ends with whitespace, which HTTP drops from header values"
    for character in text:
        if character < " " or "\x7f" <= character <= "\x9f":
            return f"holds the control character {character!r}"
        if "\ud800" <= character <= "\udfff":
            return f"holds the lone surrogate {character!r}, which has no UTF-8 form"
    return None


def default_function_name(module: str) -> str:
    """The function name for a handler module: dots become dashes, and what no header
    could carry is replaced (control characters, surrogates) or dropped (surrounding
    whitespace, characters past :data:`NAME_LIMIT`)."""
    name = "".join(
        "-"
        if character < " " or "\x7f" <= character <= "\x9f" or "\ud800" <= character <= "\udfff"
        else character
        for character in module.replace(".", "-")
    )
    return name[:NAME_LIMIT].strip() or "function"


def _passable(text: object) -> bool:
    """Whether ``text`` can be passed to a process (argument or environment): a string
    without NUL that the file system encoding can encode."""
    if not isinstance(text, str) or "\0" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


def _checked_env(env: Mapping[str, str]) -> dict[str, str]:
    """The function's environment, each variable checked (a value is never shown)."""
    checked: dict[str, str] = {}
    for key, value in env.items():
        if not _passable(key) or not key or "=" in key:
            raise ConfigurationError(
                f"Invalid environment variable name {key!r}; expected a non-empty string "
                "without '=' or NUL characters.",
                setting="env",
                value=key,
            )
        if not _passable(value):
            raise ConfigurationError(
                f"The value of environment variable {key!r} cannot be passed to a process; "
                "expected a string without NUL characters (the value is not shown).",
                setting="env",
                variable=key,
            )
        checked[key] = value
    return checked


def _retire(environments: list[Environment], *, wait: bool = False) -> list[threading.Thread]:
    """Close environments in parallel threads (each kills its runtime first).

    Stopping a server waits for its polling loop, so closing one after another would
    add that wait per environment; ``wait=False`` leaves the release in the background
    and returns the threads doing it.
    """
    threads = [threading.Thread(target=environment.close, daemon=True) for environment in environments]
    for thread in threads:
        thread.start()
    if wait:
        for thread in threads:
            thread.join()
    return threads


def _kill_groups(idle: Iterable[Environment], busy: Iterable[Environment], layers: Layers) -> None:
    """SIGKILL the runtimes (and what they started) of these environments; drop the layout."""
    for group in (idle, busy):
        for environment in list(group):
            environment.kill_group()
    layers.close()


def _limits_on(limits: bool | None) -> bool:
    """``limits``, else ``LAMBDA_KIT_LIMITS`` (1/true/on), else off."""
    if limits is not None:
        return bool(limits)
    return os.environ.get("LAMBDA_KIT_LIMITS", "").strip().lower() in ("1", "true", "on", "yes")


def platform_machine() -> str:
    """This machine's architecture (``x86_64``, ``aarch64``...)."""
    import platform

    return platform.machine()


def _encode(event: Any, payload: bytes | str | None) -> bytes:
    if payload is not None:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            json.loads(data)
        except ValueError:
            raise EmulatorError(
                "Could not parse request body into json: the payload must be a JSON document.",
                code="InvalidRequestContentException",
            ) from None
    else:
        data = json.dumps({} if event is None else event).encode()
    check_payload(data)
    return data
