"""Amazon Cognito user pool triggers: dispatch on ``triggerSource`` (internal).

Cognito invokes the function synchronously with an event that carries the trigger
(``triggerSource``: ``PreSignUp_SignUp``, ``TokenGeneration_HostedAuth``, ...), a
``request`` and an empty ``response``, and expects the same event back with
``response`` filled in. The adapter picks the core registered for the trigger source
(an exact ``"PreSignUp_SignUp"`` first, else its family, the part before the first
``_``: ``"PreSignUp"``), gives it the request, and merges what it returns into
``response``:

* the core's input is the request with ``userName``, ``userPoolId``,
  ``triggerSource``, ``region`` and ``clientId`` added (the request's keys as Cognito names them:
  ``userAttributes``, ``validationData``, ``clientMetadata``, ``session``, ...) parsed
  into its type: a ``TypedDict``, a dataclass or model declaring the fields it uses,
  or ``dict``;
* its result (a dict, dataclass or model, written as JSON data) is merged into the
  event's ``response``; ``None`` leaves the response as Cognito sent it (a
  post-confirmation trigger, say, has nothing to answer).

A core that raises fails the trigger: Cognito refuses the operation (a sign-up, a
sign-in) and shows the client the exception's message, which is how a pre sign-up
trigger rejects an address. The failure is logged with the request id and re-raised.
A trigger source with no core registered raises
:class:`~lambda_kit.exceptions.EventShapeError`, which fails the operation too:
register the family (``"PreSignUp"``) to take every source of a trigger.
"""

from __future__ import annotations

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, EventShapeError, HandlerError
from lambda_kit.handler._coerce import converter_for, to_jsonable
from lambda_kit.handler._core import Runner, core_parameter_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["cognito", "request_of"]


def request_of(event: dict[str, Any]) -> dict[str, Any]:
    """What a trigger's core receives: the request, with who and where it came from."""
    request = event.get("request")
    if request is not None and not isinstance(request, dict):
        raise EventShapeError("Cognito trigger 'request' must be an object.", source="Cognito")
    caller = event.get("callerContext")
    client_id = caller.get("clientId") if isinstance(caller, dict) else None
    return {
        **(request or {}),
        "userName": event.get("userName"),
        "userPoolId": event.get("userPoolId"),
        "triggerSource": event.get("triggerSource"),
        "region": event.get("region"),
        "clientId": client_id,
    }


class _Trigger:
    __slots__ = ("convert", "runner")

    def __init__(self, core: Callable[..., Any]) -> None:
        self.convert = converter_for(core_parameter_type(core))
        self.runner = Runner(core)


def cognito(cores: Mapping[str, Callable[..., Any]]) -> Callable[[Any, Any], dict[str, Any]]:
    """Build the handler of Cognito user pool triggers (see the module docstring)."""
    from lambda_kit.handler._batch import _log_failure

    if not hasattr(cores, "items") or not cores:
        raise ConfigurationError(
            "cognito() takes a non-empty {'TriggerSource' or 'Family': core} mapping.", setting="cores"
        )
    triggers: dict[str, _Trigger] = {}
    for name, core in cores.items():
        if not isinstance(name, str) or not name or not callable(core):
            raise ConfigurationError(
                f"Invalid Cognito trigger {name!r}: expected a trigger source ('PreSignUp_SignUp') or a "
                "family ('PreSignUp') mapped to a function.",
                setting="cores",
            )
        triggers[name] = _Trigger(core)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        try:
            source = event.get("triggerSource") if isinstance(event, dict) else None
            if not isinstance(source, str):
                raise EventShapeError(
                    "Not a Cognito user pool trigger event: no 'triggerSource'.", source="Cognito"
                )
            trigger = triggers.get(source) or triggers.get(source.partition("_")[0])
            if trigger is None:
                raise EventShapeError(
                    f"No core registered for Cognito trigger source {source[:100]!r}; registered: "
                    f"{', '.join(sorted(triggers))}.",
                    source="Cognito",
                )
            payload = request_of(event)
            try:
                result = trigger.runner.run_all(lambda call: call(trigger.convert(payload)))
            except Exception as error:
                _log_failure("Cognito", source[:100], error)
                raise
            if result is not None:
                data = to_jsonable(result)
                if not isinstance(data, dict):
                    raise HandlerError(
                        f"A Cognito trigger core must return a mapping of response fields or None, got "
                        f"{type(result).__name__}."
                    )
                response = event.get("response")
                event["response"] = {**response, **data} if isinstance(response, dict) else dict(data)
            answered: dict[str, Any] = event
            return answered
        finally:
            lifecycle.end_invocation(token)

    return handler
