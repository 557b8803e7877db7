"""AwsStandIn: each instance's state is its own, apart from moto.mock_aws(); seeds, reset, endpoints."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.exceptions import EmulatorError
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer, _aws
from lambda_kit_dev.stand_ins._aws import check_endpoint

SEED = {"secrets": {"prod/db": {"username": "app"}}, "parameters": {"/shop/table": "orders"}}


def secret_names(stand_in: AwsStandIn) -> list[str]:
    listed = stand_in.client("secretsmanager").list_secrets()["SecretList"]
    return sorted(secret["Name"] for secret in listed)


@pytest.fixture(scope="module")
def seeded() -> Any:
    with AwsStandIn(seed={"secrets": SEED["secrets"]}) as stand_in:
        yield stand_in


def test_a_second_stand_in_does_not_see_the_first_ones_secrets(seeded: AwsStandIn) -> None:
    with AwsStandIn() as second:
        second.add({"secrets": {"second-only": "x"}})
        assert secret_names(second) == ["second-only"]
        assert secret_names(seeded) == ["prod/db"]
        assert second.endpoint_url != seeded.endpoint_url
    assert secret_names(seeded) == ["prod/db"]


def test_reset_neither_wipes_nor_is_wiped_by_mock_aws(seeded: AwsStandIn) -> None:
    seeded.add({"secrets": {"extra": "y"}})
    with mock_aws():  # entering resets moto's state in this process: not the stand-in's
        assert secret_names(seeded) == ["extra", "prod/db"]
        mocked = boto3.client("secretsmanager", region_name="us-east-1")
        mocked.create_secret(Name="mocked", SecretString="m")
        seeded.reset()  # the stand-in's own server: the seed again, and nothing else
        assert [secret["Name"] for secret in mocked.list_secrets()["SecretList"]] == ["mocked"]
        assert secret_names(seeded) == ["prod/db"]
    value = seeded.client("secretsmanager").get_secret_value(SecretId="prod/db")["SecretString"]
    assert value == '{"username":"app"}'


def test_stop_loses_the_state_and_start_begins_from_the_seed() -> None:
    stand_in = AwsStandIn(seed={"secrets": SEED["secrets"]}, region="eu-west-1")
    with pytest.raises(EmulatorError, match="not running; call start"):
        stand_in.environ()
    with stand_in:
        assert stand_in.start() is stand_in  # started once
        stand_in.add({"secrets": {"temporary": "t"}})
        assert secret_names(stand_in) == ["prod/db", "temporary"]
        arn = stand_in.client("secretsmanager").describe_secret(SecretId="prod/db")["ARN"]
        assert ":eu-west-1:123456789012:" in arn
    assert not stand_in.running
    assert repr(stand_in) == "AwsStandIn(stopped)"
    with stand_in:
        assert secret_names(stand_in) == ["prod/db"]


def test_parameters_are_created_and_overwritten(seeded: AwsStandIn) -> None:
    seeded.add({"parameters": {"/shop/table": "orders", "/shop/hosts": ["a", "b"]}})
    seeded.add({"parameters": {"/shop/table": "v2"}})
    ssm = seeded.client("ssm")
    parameter = ssm.get_parameter(Name="/shop/table")["Parameter"]
    assert (parameter["Value"], parameter["Version"], parameter["Type"]) == ("v2", 2, "String")
    assert ssm.get_parameter(Name="/shop/hosts")["Parameter"]["Type"] == "StringList"
    seeded.reset()
    assert ssm.describe_parameters()["Parameters"] == []


def test_adding_an_existing_secret_makes_a_new_current_version(seeded: AwsStandIn) -> None:
    client = seeded.client("secretsmanager")
    before = client.get_secret_value(SecretId="prod/db")["VersionId"]
    seeded.add({"secrets": {"prod/db": b"\x00binary"}})
    after = client.get_secret_value(SecretId="prod/db")
    assert after["SecretBinary"] == b"\x00binary"
    assert after["VersionId"] != before
    seeded.reset()


def test_a_stand_in_on_an_endpoint_uses_that_server_and_leaves_it_running(seeded: AwsStandIn) -> None:
    attached = AwsStandIn(endpoint_url=seeded.endpoint_url + "/", seed={"secrets": {"attached": "a"}})
    assert attached.external
    assert not attached.running
    with attached:
        assert attached.endpoint_url == seeded.endpoint_url
        assert secret_names(seeded) == ["attached", "prod/db"]
    assert not attached.running
    assert secret_names(seeded) == ["attached", "prod/db"]  # detached: the server runs on
    seeded.reset()


def test_an_unreachable_endpoint_fails_start_naming_the_entry() -> None:
    stand_in = AwsStandIn(endpoint_url="http://127.0.0.1:9", seed={"secrets": {"prod/db": "pw"}})
    with pytest.raises(EmulatorError, match=r"Could not create 'prod/db' .*EndpointConnectionError") as info:
        stand_in.start()
    assert "pw" not in str(info.value)
    assert not stand_in.running


def test_aws_refusing_an_entry_is_an_emulator_error_with_its_code() -> None:
    class Refusing(BaseHTTPRequestHandler):  # answers as AWS does when the caller may not
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"__type": "AccessDeniedException", "message": "not allowed"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        stand_in = AwsStandIn(endpoint_url=url, seed={"secrets": {"prod/db": "new-value"}})
        with pytest.raises(EmulatorError, match=r"'prod/db'.*AccessDeniedException") as info:
            stand_in.start()
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.context["code"] == "AccessDeniedException"
    assert "new-value" not in str(info.value)
    assert not stand_in.running


def test_a_server_that_does_not_start_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws, "_SERVER", "raise SystemExit('no moto here')")
    with pytest.raises(EmulatorError, match="did not start: no moto here"):
        AwsStandIn().start()


_AT_INIT = """
import os

import boto3

VALUE = boto3.client("secretsmanager").get_secret_value(SecretId="prod/db")["SecretString"]


def handler(event, context):
    return {"endpoint": os.environ["AWS_ENDPOINT_URL"], "value": VALUE}
"""


def test_an_emulator_starts_and_stops_an_unstarted_stand_in(tmp_path: Path) -> None:
    (tmp_path / "at_init.py").write_text(_AT_INIT, encoding="utf-8")
    stand_in = AwsStandIn(seed={"secrets": {"prod/db": "pw"}})
    with Emulator("at_init.handler", task_root=tmp_path, aws=stand_in) as function:
        assert function.aws is stand_in
        result = function.invoke({})
        assert result.ok, result.error
        assert result.json() == {"endpoint": stand_in.endpoint_url, "value": "pw"}
        assert result.init_aws_calls == {"secretsmanager.GetSecretValue": 1}
    assert not stand_in.running


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:5000",
        "http://",
        "http://127.0.0.1:5000/path",
        "http://127.0.0.1:5000?x=1",
        "http://user@127.0.0.1:5000",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:5000\n",
        "127.0.0.1:5000",
    ],
)
def test_invalid_endpoints_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="Invalid AWS endpoint URL") as info:
        AwsStandIn(endpoint_url=url)
    assert info.value.context["setting"] == "aws_endpoint"


@given(st.text(max_size=60))
def test_any_text_is_an_endpoint_or_a_configuration_error(text: str) -> None:
    try:
        accepted = check_endpoint(text)
    except ConfigurationError:
        return
    assert accepted.startswith(("http://", "https://"))
    assert not accepted.endswith("/")


def test_tls_server_makes_a_throwaway_certificate() -> None:
    import urllib3

    with TLSServer() as server:
        pool = urllib3.PoolManager(ca_certs=server.cert)
        assert pool.request("GET", server.url("/ok")).status == 200
        assert server.connections == 1
        certificate = server.cert
    assert certificate is not None
    assert not Path(certificate).exists()  # removed with the server
    with pytest.raises(ValueError, match="both cert and key"):
        TLSServer(cert=certificate)
