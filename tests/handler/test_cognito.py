"""Amazon Cognito user pool triggers: dispatch on triggerSource, the event back with its response."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pydantic
import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, EventShapeError, HandlerError, LambdaKitError
from lambda_kit.handler import cognito
from lambda_kit.testing import events, invoke

EVENTS = Path(__file__).parent / "events"
SAMPLES = sorted(path.name for path in EVENTS.glob("go-cognito-event-userpools-*.json"))


class SignUp(TypedDict):
    userName: str
    userAttributes: dict[str, str]
    clientId: str | None


def pre_sign_up(request: SignUp) -> dict[str, Any]:
    if not request["userAttributes"].get("email", "").endswith("@example.com"):
        raise ValueError("Sign-up is for example.com addresses only.")
    return {"autoConfirmUser": True, "autoVerifyEmail": True}


@dataclass
class Challenge:
    session: list[dict[str, Any]] = field(default_factory=list)


def define_challenge(request: Challenge) -> dict[str, Any]:
    passed = bool(request.session) and request.session[-1].get("challengeResult") is True
    return {"issueTokens": passed, "failAuthentication": False, "challengeName": "CUSTOM_CHALLENGE"}


class Claims(pydantic.BaseModel):
    claimsAndScopeOverrideDetails: dict[str, Any]


def add_claims(request: dict[str, Any]) -> Claims:
    return Claims(
        claimsAndScopeOverrideDetails={"idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "acme"}}}
    )


def nothing(request: dict[str, Any]) -> None:
    return None


FAMILIES = {
    "PreSignUp": nothing,
    "PostConfirmation": nothing,
    "PreAuthentication": nothing,
    "PostAuthentication": nothing,
    "DefineAuthChallenge": define_challenge,
    "CreateAuthChallenge": nothing,
    "VerifyAuthChallengeResponse": nothing,
    "TokenGeneration": add_claims,
    "PreTokenGen": nothing,  # the aws-lambda-go sample's made-up source
    "UserMigration": nothing,
    "CustomMessage": nothing,
    "InboundFederation": nothing,
}


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_comes_back_with_its_response(name: str) -> None:
    event = sample(name)
    sent = copy.deepcopy(event)
    answered = invoke(cognito(FAMILIES), event)
    assert {key: value for key, value in answered.items() if key != "response"} == {
        key: value for key, value in sent.items() if key != "response"
    }
    family = sent["triggerSource"].partition("_")[0]
    core = FAMILIES[family]
    if core is nothing:
        assert answered["response"] == sent["response"]
    elif core is add_claims:
        assert answered["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"] == {
            "claimsToAddOrOverride": {"tenant": "acme"}
        }
    else:
        assert set(answered["response"]) >= {"issueTokens", "failAuthentication", "challengeName"}
    json.dumps(answered)


def test_define_auth_challenge_sample_reads_the_session() -> None:
    event = sample("go-cognito-event-userpools-define-auth-challenge.json")
    answered = invoke(cognito({"DefineAuthChallenge_Authentication": define_challenge}), event)
    passed = event["request"]["session"][-1]["challengeResult"] is True
    assert answered["response"]["issueTokens"] is passed


def test_pre_sign_up_with_a_typed_request() -> None:
    handler = cognito({"PreSignUp": pre_sign_up})
    answered = invoke(handler, events.cognito("PreSignUp_SignUp", response={"autoConfirmUser": False}))
    assert answered["response"] == {"autoConfirmUser": True, "autoVerifyEmail": True}
    answered = invoke(handler, events.cognito("PreSignUp_AdminCreateUser"))
    assert answered["response"]["autoConfirmUser"] is True


def test_an_exact_trigger_source_wins_over_its_family() -> None:
    handler = cognito(
        {
            "PreSignUp": lambda request: {"by": "family"},
            "PreSignUp_ExternalProvider": lambda request: {"by": "exact"},
        }
    )
    assert invoke(handler, events.cognito("PreSignUp_ExternalProvider"))["response"] == {"by": "exact"}
    assert invoke(handler, events.cognito("PreSignUp_SignUp"))["response"] == {"by": "family"}


def test_a_raise_fails_the_operation_with_its_message(caplog: pytest.LogCaptureFixture) -> None:
    event = events.cognito("PreSignUp_SignUp", user_attributes={"email": "eve@elsewhere.org"})
    with (
        caplog.at_level(logging.WARNING, logger="lambda_kit.handler"),
        pytest.raises(ValueError, match=r"example\.com addresses only"),
    ):
        invoke(cognito({"PreSignUp": pre_sign_up}), event)
    assert "Cognito record PreSignUp_SignUp failed" in caplog.text


def test_a_request_that_does_not_fit_the_core_type_fails() -> None:
    event = events.cognito("PreSignUp_SignUp")
    del event["request"]["userAttributes"]
    with pytest.raises(LambdaKitError, match="Invalid input"):
        invoke(cognito({"PreSignUp": pre_sign_up}), event)


def test_an_unregistered_trigger_source_is_a_clear_error() -> None:
    with pytest.raises(
        EventShapeError, match="No core registered for Cognito trigger source 'PostConfirmation_Conf"
    ):
        invoke(cognito({"PreSignUp": nothing}), events.cognito("PostConfirmation_ConfirmSignUp"))


def test_a_result_that_is_not_a_mapping_is_a_clear_error() -> None:
    with pytest.raises(HandlerError, match="mapping of response fields or None, got list"):
        invoke(cognito({"PreSignUp": lambda request: [1]}), events.cognito("PreSignUp_SignUp"))


def test_the_core_sees_who_and_where() -> None:
    seen: list[dict[str, Any]] = []

    def core(request: dict[str, Any]) -> None:
        seen.append(request)

    invoke(
        cognito({"PostAuthentication": core}),
        events.cognito("PostAuthentication_Authentication", user_name="bo"),
    )
    assert seen[0]["userName"] == "bo"
    assert seen[0]["clientId"] == "1example23456789"
    assert seen[0]["triggerSource"] == "PostAuthentication_Authentication"
    assert seen[0]["userAttributes"]["email"] == "bo@example.com"


def test_async_core_and_missing_response() -> None:
    async def core(request: dict[str, Any]) -> dict[str, Any]:
        return {"finalUserStatus": "CONFIRMED"}

    event = events.cognito("UserMigration_Authentication")
    del event["response"]
    assert invoke(cognito({"UserMigration": core}), event)["response"] == {"finalUserStatus": "CONFIRMED"}


@pytest.mark.parametrize(
    "cores", [{}, {"": nothing}, {"PreSignUp": "not callable"}, [("PreSignUp", nothing)]]
)
def test_invalid_registrations_are_refused_at_init(cores: Any) -> None:
    with pytest.raises(ConfigurationError):
        cognito(cores)


@settings(max_examples=150, deadline=None)
@given(
    event=st.one_of(
        st.none(),
        st.lists(st.integers(), max_size=2),
        st.fixed_dictionaries(
            {},
            optional={
                "triggerSource": st.sampled_from(["PreSignUp_SignUp", "Other_x", ""]) | st.integers(),
                "request": st.none()
                | st.integers()
                | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
                "response": st.none()
                | st.text(max_size=3)
                | st.dictionaries(st.text(max_size=5), st.integers()),
                "callerContext": st.none()
                | st.text(max_size=3)
                | st.fixed_dictionaries({"clientId": st.text(max_size=4)}),
                "userName": st.text(max_size=5) | st.integers(),
            },
        ),
    )
)
def test_any_event_is_answered_or_a_lambda_kit_error(event: Any) -> None:
    handler = cognito({"PreSignUp": lambda request: {"autoConfirmUser": True}})
    try:
        answered = handler(event, None)
    except LambdaKitError:
        return
    assert answered["response"]["autoConfirmUser"] is True
