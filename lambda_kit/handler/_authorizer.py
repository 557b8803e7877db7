"""API Gateway Lambda authorizers: REST TOKEN / REQUEST and HTTP API payloads 1.0 and 2.0 (internal).

The core gets the caller's credentials, never the event: a ``str`` parameter takes the
token (``authorizationToken``; for HTTP APIs the identity sources joined with ``,``;
for a REST REQUEST authorizer the ``Authorization`` header), any other annotation the
request as one object (see :func:`request_of`) parsed into its type. It answers with
a :class:`Policy` (who the caller is, what it may call, the ``context`` the backend
receives), ``None`` for "these credentials are not valid", or, for HTTP API simple
responses only, a ``bool``.

The adapter shapes the answer as API Gateway documents it:

* REST APIs and HTTP API IAM responses: ``{"principalId", "policyDocument",
  "context"}`` (REST adds ``usageIdentifierKey``). Statements name methods and paths
  of the API being called; the adapter writes the ARNs from the request's own
  ``methodArn`` / ``routeArn``, so region, account, API id and stage are always right.
* HTTP API simple responses (``simple=True``, payload 2.0): ``{"isAuthorized",
  "context"}``, where ``isAuthorized`` is the policy evaluated for the route called
  (an explicit deny wins over an allow, as in IAM).
* ``None`` on a REST API: the function fails with the message ``Unauthorized``, which
  API Gateway turns into a 401. HTTP APIs have no such mapping (a function error is a
  500 there), so ``None`` is a deny (403).

Example:
    >>> from lambda_kit.handler import Policy, authorizer
    >>> def check(token: str) -> Policy | None:
    ...     return Policy("user-1", context={"tier": "gold"}).allow() if token == "good" else None
    >>> handler = authorizer(check)
"""

from __future__ import annotations

import functools
import logging
import math
import re

from lambda_kit import lifecycle
from lambda_kit.exceptions import (
    ConfigurationError,
    EventShapeError,
    HandlerError,
    InputValidationError,
    UnauthorizedError,
)
from lambda_kit.handler._coerce import converter_for, kind_of
from lambda_kit.handler._core import Runner, core_parameter_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["Policy", "UnauthorizedError", "authorizer"]

_METHODS = frozenset({"*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_logger = logging.getLogger("lambda_kit.handler")


class Policy:
    """What an authorizer answers: the principal, its permissions and the backend's context.

    Args:
        principal_id: Who the caller is (``principalId``; ``$context.authorizer.principalId``).
        context: Values the backend receives (``$context.authorizer.<key>``); strings,
            numbers and booleans only, as API Gateway requires.
        usage_identifier_key: The API key for usage plans (REST APIs whose API key
            source is ``AUTHORIZER``); not sent to HTTP APIs, which have no usage plans.

    Statements name an HTTP method (``"*"`` for any) and a resource path of the API
    being called (``"*"`` wildcards allowed: ``"/orders/*"``); the adapter writes the
    ARNs. ``allow()`` with no arguments allows the whole stage, which is what an
    authorizer with result caching needs: a cached policy is reused for every method
    and path the same token calls. A policy without statements denies everything.

    Example:
        >>> policy = Policy("user-1").allow("GET", "/orders/*").deny("DELETE", "*")
        >>> [(s.effect, s.method, s.path) for s in policy.statements]
        [('Allow', 'GET', 'orders/*'), ('Deny', 'DELETE', '*')]
    """

    __slots__ = ("context", "principal_id", "statements", "usage_identifier_key")

    def __init__(
        self,
        principal_id: str,
        *,
        context: Mapping[str, str | int | float | bool] | None = None,
        usage_identifier_key: str | None = None,
    ) -> None:
        if not isinstance(principal_id, str) or not principal_id:
            raise ConfigurationError(
                "A Policy needs a non-empty principal_id string.", setting="principal_id"
            )
        self.principal_id = principal_id
        self.context = _checked_context(context)
        if usage_identifier_key is not None and not isinstance(usage_identifier_key, str):
            raise ConfigurationError("usage_identifier_key must be a string.", setting="usage_identifier_key")
        self.usage_identifier_key = usage_identifier_key
        self.statements: list[Statement] = []

    def allow(self, method: str = "*", path: str = "*") -> Policy:
        """Allow ``method`` on ``path`` (both ``"*"`` by default: the whole stage); returns the policy."""
        self.statements.append(_statement("Allow", method, path))
        return self

    def deny(self, method: str = "*", path: str = "*") -> Policy:
        """Deny ``method`` on ``path``; an explicit deny wins over every allow. Returns the policy."""
        self.statements.append(_statement("Deny", method, path))
        return self

    def allows(self, method_arn: str) -> bool:
        """Whether the policy allows the method ARN, rendered for its own API and stage."""
        return self._allows(_parse_arn(method_arn).base, method_arn)

    def _allows(self, base: str, method_arn: str) -> bool:
        verdict = False
        for statement in self.statements:
            if _matches(statement.resource(base), method_arn):
                if statement.effect == "Deny":
                    return False
                verdict = True
        return verdict

    def __repr__(self) -> str:  # the context may hold personal data: keys only
        keys = sorted(self.context)
        return f"Policy({self.principal_id!r}, statements={self.statements!r}, context keys={keys!r})"


class Statement:
    """One ``Allow`` or ``Deny`` of a method on a resource path (no leading ``/``)."""

    __slots__ = ("effect", "method", "path")

    def __init__(self, effect: str, method: str, path: str) -> None:
        verb = method.upper() if isinstance(method, str) else ""
        if verb not in _METHODS:
            raise ConfigurationError(
                f"Invalid method {method!r} in a policy statement; expected one of: "
                f"{', '.join(sorted(_METHODS))}.",
                setting="method",
            )
        # isprintable() is False for control characters and every space but " "
        if not isinstance(path, str) or not path.isprintable() or " " in path:
            raise ConfigurationError(
                "A policy statement's path must be a string without spaces or control characters "
                "('/orders/*', '*').",
                setting="path",
            )
        self.effect = effect
        self.method = verb
        self.path = path.lstrip("/")  # "/" and "" are the root resource

    def resource(self, base: str) -> str:
        """The statement's ARN under ``base`` (``arn:...:api-id/stage``)."""
        return f"{base}/{self.method}/{self.path}"

    def __repr__(self) -> str:
        return f"Statement({self.effect!r}, {self.method!r}, {self.path!r})"


def _statement(effect: str, method: Any, path: Any) -> Statement:
    """A checked statement; statements are never changed, so policies built per request share them."""
    if type(method) is str and type(path) is str:
        return _shared_statement(effect, method, path)
    return Statement(effect, method, path)  # raises the ConfigurationError saying what is wrong


@functools.lru_cache(maxsize=512)
def _shared_statement(effect: str, method: str, path: str) -> Statement:
    return Statement(effect, method, path)


def _checked_context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    if context is None:
        return {}
    if not hasattr(context, "items"):
        raise ConfigurationError(
            "A Policy's context must be a mapping of names to values.", setting="context"
        )
    checked: dict[str, Any] = {}
    for key, value in context.items():
        if not isinstance(key, str):
            raise ConfigurationError("A Policy's context keys must be strings.", setting="context")
        scalar = isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))
        if not scalar:
            raise ConfigurationError(
                f"Context value {key!r} must be a string, a finite number or a boolean "
                f"(API Gateway refuses objects, arrays and null), got {type(value).__name__}.",
                setting="context",
            )
        checked[key] = value
    return checked


class _Arn:
    """A method or route ARN, ``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{verb}/{path}``.

    ``base`` (up to the stage) is what every answer needs; the other parts are read
    from ``parts`` and ``pieces`` only when the request object is built.
    """

    __slots__ = ("base", "parts", "pieces")

    def __init__(self, arn: str) -> None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api":
            raise EventShapeError(
                "The authorizer event's method ARN is not an execute-api ARN.", field="methodArn"
            )
        pieces = parts[5].split("/", 3)
        if len(pieces) < 3 or not (pieces[0] and pieces[1] and pieces[2]):
            raise EventShapeError(
                "The authorizer event's method ARN has no 'api-id/stage/method'.", field="methodArn"
            )
        self.parts = parts
        self.pieces = pieces
        self.base = arn[: len(arn) - len(parts[5]) + len(pieces[0]) + len(pieces[1]) + 1]

    @property
    def region(self) -> str:
        return self.parts[3]

    @property
    def account_id(self) -> str:
        return self.parts[4]

    @property
    def api_id(self) -> str:
        return self.pieces[0]

    @property
    def stage(self) -> str:
        return self.pieces[1]

    @property
    def method(self) -> str:
        return self.pieces[2]

    @property
    def path(self) -> str:
        return "/" + (self.pieces[3] if len(self.pieces) == 4 else "")


def _parse_arn(arn: Any) -> _Arn:
    if not isinstance(arn, str):
        raise EventShapeError("The authorizer event has no method ARN string.", field="methodArn")
    return _Arn(arn)


def _matches(pattern: str, arn: str) -> bool:
    """IAM's resource matching: ``*`` any run of characters (``/`` too), ``?`` one character."""
    if "?" not in pattern:
        star = pattern.find("*")
        if star < 0:
            return pattern == arn
        if star == len(pattern) - 1:
            return arn.startswith(pattern[:star])
        if star == len(pattern) - 3 and pattern.endswith("*/*"):  # any method, any path
            return arn.startswith(pattern[:star]) and "/" in arn[star:]
    return _regex(pattern).fullmatch(arn) is not None


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL)


# -- the event ------------------------------------------------------------------------------------


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def _kind(event: Any) -> str:
    """``rest-token``, ``rest-request``, ``http-1.0`` or ``http-2.0``."""
    if not isinstance(event, dict):
        raise EventShapeError("Not an API Gateway authorizer event: expected an object.", source="authorizer")
    kind = event.get("type")
    version = event.get("version")
    if kind == "TOKEN" and version is None:
        return "rest-token"
    if kind == "REQUEST":
        if version is None:
            return "rest-request"
        if version in ("1.0", "2.0"):
            return f"http-{version}"
    raise EventShapeError(
        "Not an API Gateway authorizer event: expected 'type' TOKEN or REQUEST (with 'version' 1.0 or "
        "2.0 for HTTP APIs).",
        source="authorizer",
    )


def _arn_of(event: dict[str, Any], kind: str) -> tuple[str, _Arn]:
    text = event.get("routeArn") if kind == "http-2.0" else event.get("methodArn")
    arn = _parse_arn(text)  # raises unless text is an execute-api ARN
    return str(text), arn


def _token_of(event: dict[str, Any], kind: str) -> str | None:
    """The token, as :func:`request_of` gives it, without building the request."""
    if kind == "rest-token":
        token = event.get("authorizationToken")
        if not isinstance(token, str):
            raise EventShapeError(
                "TOKEN authorizer event has no 'authorizationToken' string.", field="authorizationToken"
            )
        return token
    if kind == "http-2.0":
        sources = event.get("identitySource")
        if not isinstance(sources, list):
            return None
        return ",".join(item for item in sources if isinstance(item, str)) or None
    if kind == "http-1.0":
        raw = event.get("authorizationToken")
        if isinstance(raw, str):
            return raw
        source = event.get("identitySource")
        return source if isinstance(source, str) else None
    headers = event.get("headers")
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == "authorization" and isinstance(value, str):
                return value
    return None


def request_of(event: dict[str, Any], kind: str) -> tuple[dict[str, Any], _Arn]:
    """The request as the core sees it, and the parsed method or route ARN.

    Keys: ``token``, ``method``, ``path``, ``resource`` (REST resource or HTTP route
    key), ``headers`` (names lower-cased), ``query``, ``path_parameters``,
    ``stage_variables``, ``cookies``, ``source_ip``, ``identity_source`` (a list),
    ``method_arn``, ``api_id``, ``stage``, ``account_id``, ``region`` and
    ``request_context`` (as API Gateway sent it).
    """
    arn_text = event.get("routeArn") if kind == "http-2.0" else event.get("methodArn")
    arn = _parse_arn(arn_text)
    headers = {name.lower(): value for name, value in _strings(event.get("headers")).items()}
    context = event.get("requestContext")
    context = context if isinstance(context, dict) else {}
    token = _token_of(event, kind)
    if kind == "http-2.0":
        sources = event.get("identitySource")
        identity = [item for item in sources if isinstance(item, str)] if isinstance(sources, list) else []
    elif kind == "http-1.0":
        source = event.get("identitySource")
        identity = source.split(",") if isinstance(source, str) and source else []
    else:
        identity = [token] if token is not None else []
    if kind == "http-2.0":
        found = context.get("http")
        http: dict[str, Any] = found if isinstance(found, dict) else {}
        method = http.get("method") if isinstance(http.get("method"), str) else arn.method
        path = event.get("rawPath") if isinstance(event.get("rawPath"), str) else arn.path
        resource = event.get("routeKey")
        source_ip = http.get("sourceIp")
        sent = event.get("cookies")
        cookies = [item for item in sent if isinstance(item, str)] if isinstance(sent, list) else []
    else:
        method = event.get("httpMethod") if isinstance(event.get("httpMethod"), str) else arn.method
        path = event.get("path") if isinstance(event.get("path"), str) else arn.path
        resource = event.get("resource")
        identity_context = context.get("identity")
        source_ip = identity_context.get("sourceIp") if isinstance(identity_context, dict) else None
        cookies = []
    return (
        {
            "token": token,
            "method": method,
            "path": path,
            "resource": resource if isinstance(resource, str) else None,
            "headers": headers,
            "query": _strings(event.get("queryStringParameters")),
            "path_parameters": _strings(event.get("pathParameters")),
            "stage_variables": _strings(event.get("stageVariables")),
            "cookies": cookies,
            "source_ip": source_ip if isinstance(source_ip, str) else None,
            "identity_source": identity,
            "method_arn": arn_text,
            "api_id": arn.api_id,
            "stage": arn.stage,
            "account_id": arn.account_id,
            "region": arn.region,
            "request_context": context,
        },
        arn,
    )


# -- the response -----------------------------------------------------------------------------------


def iam_response(policy: Policy, arn: _Arn, *, rest: bool) -> dict[str, Any]:
    """The IAM policy response, with statements under the request's own API and stage."""
    statements = policy.statements or [Statement("Deny", "*", "*")]
    response: dict[str, Any] = {
        "principalId": policy.principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": item.effect, "Resource": item.resource(arn.base)}
                for item in statements
            ],
        },
    }
    if policy.context:
        response["context"] = dict(policy.context)
    if rest and policy.usage_identifier_key is not None:
        response["usageIdentifierKey"] = policy.usage_identifier_key
    return response


_NOBODY = "unauthorized"  # the principal of the deny an HTTP API gets for a None result


def authorizer(core: Callable[..., Any], *, simple: bool = False) -> Callable[[Any, Any], dict[str, Any]]:
    """Build the handler of an API Gateway Lambda authorizer (see the module docstring)."""
    tp = core_parameter_type(core)
    wants_token = kind_of(tp) == "str"
    convert = None if wants_token else converter_for(tp)
    runner = Runner(core)

    def decide(event: Any) -> dict[str, Any]:
        kind = _kind(event)
        http_api = kind.startswith("http")
        use_simple = simple and kind == "http-2.0"
        try:
            if wants_token:  # the token alone: the request object is not built
                arn_text, arn = _arn_of(event, kind)
                payload: Any = _token_of(event, kind)
                if not payload:
                    raise UnauthorizedError()
            else:
                request, arn = request_of(event, kind)
                arn_text = request["method_arn"]
                payload = convert(request)  # type: ignore[misc]  # set when not wants_token
        except InputValidationError as error:
            _logger.info(
                "authorizer: request refused before the core (request %s): %s",
                lifecycle.current_request_id() or "-",
                error.message,
            )
            result: Any = None
        except UnauthorizedError:
            result = None
        else:
            try:
                result = runner.run_all(lambda call: call(payload)) if runner.is_async else core(payload)
            except UnauthorizedError:
                result = None
        if result is None:
            if not http_api:
                raise UnauthorizedError()
            result = False if use_simple else Policy(_NOBODY)
        if isinstance(result, bool):
            if not use_simple:
                raise HandlerError(
                    "An authorizer core returned a bool, which only HTTP API simple responses take "
                    "(authorizer(core, simple=True), payload 2.0); return a Policy.",
                )
            return {"isAuthorized": result}
        if not isinstance(result, Policy):
            raise HandlerError(
                f"An authorizer core must return a Policy or None, got {type(result).__name__}.",
            )
        if use_simple:
            answer: dict[str, Any] = {"isAuthorized": result._allows(arn.base, arn_text)}
            if result.context:
                answer["context"] = dict(result.context)
            return answer
        return iam_response(result, arn, rest=not http_api)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        try:
            return decide(event)
        finally:
            lifecycle.end_invocation(token)

    return handler
