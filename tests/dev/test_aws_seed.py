"""Seeding the AWS stand-in (code, JSON, YAML), the --aws-seed / --aws-endpoint options, and
bench's projection for batch events."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit.testing import events
from lambda_kit_dev._cli import main
from lambda_kit_dev.bench import batch_of, format_report, run_bench
from lambda_kit_dev.stand_ins import AwsStandIn
from lambda_kit_dev.stand_ins._seed import Seed, load_seed, parse_seed

# -- the seed format ----------------------------------------------------------------


def test_a_seed_from_code_json_and_yaml_means_the_same(tmp_path: Path) -> None:
    document = {
        "secrets": {"prod/db": {"username": "app", "port": 5432}, "prod/key": "k-1"},
        "parameters": {
            "/shop/table": "orders",
            "/shop/hosts": ["a.example", "b.example"],
            "token": {"value": "t-1", "type": "SecureString"},
        },
    }
    expected = Seed(
        {"prod/db": '{"username":"app","port":5432}', "prod/key": "k-1"},
        {
            "/shop/table": ("orders", "String"),
            "/shop/hosts": ("a.example,b.example", "StringList"),
            "token": ("t-1", "SecureString"),
        },
    )
    (tmp_path / "seed.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "seed.yml").write_text(
        "secrets:\n"
        '  prod/db: {"username": "app", "port": 5432}\n'
        "  prod/key: k-1\n"
        "parameters:\n"
        "  /shop/table: orders\n"
        "  /shop/hosts: [a.example, b.example]\n"
        "  token: {value: t-1, type: SecureString}\n",
        encoding="utf-8",
    )
    assert parse_seed(document) == expected
    assert load_seed(tmp_path / "seed.json") == expected
    assert load_seed(str(tmp_path / "seed.yml")) == expected
    assert load_seed(expected) is expected
    assert load_seed(None) == Seed()
    assert not Seed()
    assert Seed() != {}
    assert (
        repr(expected)
        == "Seed(secrets=['prod/db', 'prod/key'], parameters=['/shop/hosts', '/shop/table', 'token'])"
    )


def test_binary_secrets_from_code_and_yaml(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"\x00\x01key").decode()
    (tmp_path / "seed.yaml").write_text(f"secrets:\n  cert: !!binary {encoded}\n", encoding="utf-8")
    assert load_seed(tmp_path / "seed.yaml").secrets == {"cert": b"\x00\x01key"}
    assert parse_seed({"secrets": {"cert": bytearray(b"\xff")}}).secrets == {"cert": b"\xff"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1], "expected a mapping with keys"),
        ({"secret": {}}, r"unknown key\(s\) \['secret'\]"),
        ({"secrets": ["a"]}, "'secrets' must map names to values, got a list"),
        ({"secrets": {"bad name!": "x"}}, "invalid secret name 'bad name!'"),
        ({"secrets": {"x" * 513: "x"}}, "invalid secret name"),
        ({"secrets": {"a": None}}, "secret 'a' has no value"),
        ({"secrets": {"a": {"n": math.nan}}}, "secret 'a' holds a dict .* no JSON form"),
        ({"secrets": {"a": "x" * 65_537}}, "secret 'a' is 65,537 bytes"),
        ({"secrets": {"a": "\ud800"}}, "lone surrogate"),
        ({"parameters": {"a/b": "x"}}, "must start with /"),
        ({"parameters": {"/a/": "x"}}, "no empty level"),
        ({"parameters": {"/" + "/".join("a" * 16): "x"}}, "at most 15 levels"),
        ({"parameters": {"/aws/x": "x"}}, "reserved"),
        ({"parameters": {"SSM-x": "x"}}, "reserved"),
        ({"parameters": {"a b": "x"}}, "expected 1-1011 characters"),
        ({"parameters": {1: "x"}}, "expected a string"),
        ({"parameters": {"a": ""}}, "holds an empty string"),
        ({"parameters": {"a": 5}}, "holds a int"),
        ({"parameters": {"a": []}}, "a list is a StringList of non-empty strings"),
        ({"parameters": {"a": ["x,y"]}}, "holds a comma"),
        ({"parameters": {"a": {"value": "x", "type": "Secure"}}}, "has type 'Secure'"),
        ({"parameters": {"a": {"value": ["x"], "type": "String"}}}, "a list is a StringList"),
        ({"parameters": {"a": {"type": "String"}}}, "expected {value: ..., type"),
        ({"parameters": {"a": "x" * 4097}}, "at most 4,096 characters"),
    ],
)
def test_bad_seeds_are_refused_with_the_reason(document: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        parse_seed(document)
    assert info.value.context["setting"] == "aws_seed"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("seed.txt", "{}", "expected a .json, .yaml or .yml file"),
        ("seed.json", '{"secrets": {"a": "top-secret-1"', r"is not JSON \(line 1, column 33\)"),
        ("seed.json", '{"secrets": {"a": NaN}}', "is not JSON"),
        ("seed.yaml", "secrets:\n  a: 'top-secret-1\n", r"is not valid YAML \(line 3, column 1\)"),
        ("seed.yaml", "secrets: [top-secret-1", "is not valid YAML"),
        ("seed.yaml", "!!python/object:os.system {}", "is not valid YAML"),
        ("seed.yaml", "secrets:\n  a: 2024-01-01\n", "holds a date"),
    ],
)
def test_bad_files_never_quote_their_text(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as info:
        load_seed(path)
    assert "top-secret" not in str(info.value)
    assert name in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read: No such file"):
        load_seed(tmp_path / "missing.yaml")
    (tmp_path / "latin.json").write_bytes(b'{"secrets": {"a": "\xe9"}}')
    with pytest.raises(ConfigurationError, match=r"is not UTF-8 \(byte 19\)"):
        load_seed(tmp_path / "latin.json")
    with pytest.raises(ConfigurationError, match="expected a mapping or a file's path, got a int"):
        load_seed(3)  # type: ignore[arg-type]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["secrets", "parameters", "other"]), _json, max_size=3) | _json)
def test_any_document_is_a_seed_or_a_configuration_error_that_quotes_no_value(document: Any) -> None:
    try:
        seed: Seed | None = parse_seed(document)
        message = ""
    except ConfigurationError as error:
        seed, message = None, str(error)
    if seed is None:
        for section in ("secrets", "parameters") if isinstance(document, dict) else ():
            values = document.get(section)
            if isinstance(values, dict):
                quoted = [v for v in values.values() if isinstance(v, str) and len(v) >= 4 and v in message]
                assert quoted == []
        return
    for value in seed.secrets.values():
        assert isinstance(value, (str, bytes))
    for value, kind in seed.parameters.values():
        assert isinstance(value, str)
        assert value
        assert kind in ("String", "StringList", "SecureString")


MARKER = "Zq7-secret-marker"


@given(st.text(max_size=30), st.text(max_size=30))
def test_a_yaml_file_around_a_secret_loads_or_fails_without_quoting_it(
    tmp_path_factory: pytest.TempPathFactory, before: str, after: str
) -> None:
    path = tmp_path_factory.mktemp("seed") / "seed.yaml"
    text = f"secrets:\n  a: {before}{MARKER}{after}\n"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        message = repr(load_seed(path))
    except ConfigurationError as error:
        message = str(error)
    assert MARKER not in message


# -- the command line: --aws-seed and --aws-endpoint ------------------------------------------

# The README's example function, as a user writes it from the README.
README_APP = """
from dataclasses import dataclass

from lambda_kit.handler import http
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Secret

DB = Secret("prod/db").prefetch()  # fetched once, during INIT
metrics = Metrics(namespace="Shop", service="orders")


@dataclass
class Order:
    sku: str
    quantity: int


def create_order(order: Order) -> dict:
    metrics.put_metric("OrdersCreated", 1, "Count")
    return {"sku": order.sku, "quantity": order.quantity, "db_user": DB.json()["username"]}


handler = http(
    {"POST /orders": create_order}, middleware=[metrics.log_metrics(capture_cold_start_metric=True)]
)
"""


@pytest.fixture
def readme_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's app.py, an event.json for it and a seed.json, in the current directory."""
    (tmp_path / "app.py").write_text(README_APP, encoding="utf-8")
    event = events.api_gateway_v2("POST", "/orders", body={"sku": "book", "quantity": 2})
    (tmp_path / "event.json").write_text(json.dumps(event), encoding="utf-8")
    seed = {"secrets": {"prod/db": {"username": "app", "password": "local-only"}}}
    (tmp_path / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_bench_command_with_a_seed_succeeds_every_time(
    readme_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "bench app.handler --event event.json --cold 5 --warm 50 --aws-seed seed.json --json"
    assert main(argv.split()) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == []
    assert result["invocations"] == 55  # 5 cold and 50 warm (the import profile is not counted)
    assert result["cold_calls"] == {"secretsmanager.GetSecretValue": 1.0}
    assert result["warm_calls"] == {}


def test_the_invoke_command_with_a_seed_and_with_a_running_endpoint(
    readme_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "app.handler", "--event", "event.json", "--aws-seed", "seed.json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(json.loads(out)["body"]) == {"sku": "book", "quantity": 2, "db_user": "app"}
    assert "REPORT RequestId:" in err

    with AwsStandIn(seed={"secrets": {"prod/db": {"username": "shared"}}}) as running:
        argv = [
            "invoke",
            "app.handler",
            "--event",
            "event.json",
            "--aws-endpoint",
            running.endpoint_url,
            "--json",
        ]
        assert main(argv) == 0
        document = json.loads(capsys.readouterr().out)
        assert json.loads(json.loads(document["payload"])["body"])["db_user"] == "shared"
        assert running.running  # a running stand-in is used, not stopped


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--aws", "--aws-endpoint", "http://127.0.0.1:5000"], "give one of them"),
        (["--aws-endpoint", "localhost:5000"], "Invalid AWS endpoint URL 'localhost:5000'"),
        (["--aws-seed", "missing.yaml"], "AWS seed 'missing.yaml': cannot be read"),
    ],
)
def test_aws_option_errors_exit_with_two(
    readme_project: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "app.handler", *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_seed_file_is_refused_before_anything_starts(
    readme_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (readme_project / "bad.json").write_text('{"secrets": {"prod/db": null}}', encoding="utf-8")
    assert main(["bench", "app.handler", "--aws-seed", "bad.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lambda-kit: error: AWS seed 'bad.json': secret 'prod/db' has no value")
    assert "Traceback" not in err


# -- bench: a request is a batch for a poller's event ------------------------------------


def test_batch_sources_are_recognised() -> None:
    assert batch_of(events.sqs(["a"] * 10)) == ("SQS messages", 10)
    assert batch_of(events.kinesis(["a", "b"])) == ("Kinesis records", 2)
    assert batch_of(events.dynamodb_streams([{"pk": "1"}] * 3)) == ("DynamoDB stream records", 3)
    kafka = {"eventSource": "aws:kafka", "records": {"orders-0": [{}, {}], "orders-1": [{}]}}
    assert batch_of(kafka) == ("Kafka records", 3)
    assert batch_of({"eventSource": "SelfManagedKafka", "records": {"t-0": [{}]}}) == ("Kafka records", 1)
    assert batch_of({"eventSource": "aws:mq", "messages": [{}, {}]}) == ("Amazon MQ messages", 2)
    assert batch_of({"eventSource": "aws:rmq", "rmqMessagesByQueue": {"q::/": [{}]}}) == (
        "RabbitMQ messages",
        1,
    )
    for one_request in (
        events.api_gateway_v2("GET", "/"),
        events.sns(["a"]),
        events.s3(["a.txt", "b.txt"]),
        {"Records": []},
        {"eventSource": "aws:mq", "messages": []},
        {"eventSource": "aws:kafka", "records": "x"},
        [1, 2],
    ):
        assert batch_of(one_request) is None


@given(_json | st.dictionaries(st.sampled_from(["Records", "eventSource", "records", "messages"]), _json))
def test_batch_of_never_raises(event: Any) -> None:
    found = batch_of(event)
    assert found is None or (isinstance(found[0], str) and found[1] >= 1)


_CONSUMER = """
def handler(event, context):
    return {"batchItemFailures": []}
"""


def test_bench_of_an_sqs_consumer_says_a_request_is_a_batch(tmp_path: Path) -> None:
    (tmp_path / "consumer.py").write_text(_CONSUMER, encoding="utf-8")
    result = run_bench(
        "consumer.handler",
        events.sqs(["m"] * 10),
        cold=1,
        warm=3,
        rps=600,
        task_root=str(tmp_path),
        profile_imports=False,
        check_bytecode=False,
    )
    assert result.projection is not None
    assert (result.projection.batch_source, result.projection.records_per_batch) == ("SQS messages", 10)
    assert result.projection.records_per_second == 6000
    text = format_report(result)
    assert "At 600 invocations/s, each a batch of 10 SQS messages (6,000 records/s;" in text
    assert "for M records/s, pass --rps M/10" in text
    assert result.to_dict()["projection"]["records_per_batch"] == 10
