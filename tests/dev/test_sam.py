"""SAM templates: a function's settings read as SAM reads them, and run without Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev._cli import main
from lambda_kit_dev._sam import function_spec, merge_globals, parse_template
from lambda_kit_dev.emulator._python import Interpreter
from lambda_kit_dev.stand_ins import AwsStandIn

T = TypeVar("T")
REPOSITORY = Path(__file__).resolve().parents[2]
TUNED = REPOSITORY / "examples" / "tuned"
EVENT = REPOSITORY / "examples" / "events" / "api_gateway_get.json"

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  Secret: {Type: String}
  Sizes: {Type: CommaDelimitedList, Default: "256, 512"}
Mappings:
  Tiers: {dev: {Memory: 1024}}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  NotDev: !Not [!Condition IsDev]
  Both: !And [!Condition IsDev, !Or [!Condition IsDev, !Condition NotDev]]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 7
    MemorySize: !Select [1, !Ref Sizes]
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        GLOBAL: "from globals"
        REPLACED: global
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared}
  ZipLayer:
    Type: AWS::Lambda::LayerVersion
    Properties: {Content: layers/extra.zip}
  Table:
    Type: AWS::DynamoDB::Table
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      FunctionName: !Sub "orders-${Stage}"
      MemorySize: !FindInMap [Tiers, !Ref Stage, Memory, {DefaultValue: !Select [1, !Ref Sizes]}]
      Layers: [!Ref ZipLayer]
      Environment:
        Variables:
          REPLACED: function
          FLAG: on
          ENABLED: true
          COUNT: 3
          REGION: !Ref AWS::Region
          URL: !Sub "https://${AWS::AccountId}.${AWS::URLSuffix}/${Stage}/${!Literal}"
          JOINED: !Join ["-", [a, !Ref Stage, !Select [0, !Split [",", "x,y"]]]]
          ENCODED: !Base64 hi
          CHOSEN: !If [Both, yes-dev, not-dev]
          DROPPED: !If [NotDev, value, !Ref AWS::NoValue]
          VARS: !Sub ["${Who}-${Stage}", {Who: me}]
          MAPPED: !FindInMap [Tiers, prod, Memory, {DefaultValue: fallback}]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: worker.handler
      Runtime: python3.11
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Table.Arn
          SECRET: !Ref Secret
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "layers" / "shared" / "python").mkdir(parents=True)
    shutil.make_archive(str(tmp_path / "layers" / "extra"), "zip", tmp_path / "layers" / "shared")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


def test_a_function_with_globals_parameters_and_intrinsics(project: Path) -> None:
    spec = function_spec(project / "template.yaml", "Api", region="eu-west-1")
    assert spec.handler == "app.handler"
    assert spec.task_root == str(project / "src")
    assert spec.python == "3.12"
    assert spec.memory_mb == 1024  # the function's own value wins over Globals'
    assert spec.timeout_s == 7.0
    assert spec.function_name == "orders-dev"
    assert spec.layers == (str(project / "layers" / "shared"), str(project / "layers" / "extra.zip"))
    assert spec.env == {
        "GLOBAL": "from globals",
        "REPLACED": "function",
        "FLAG": "on",  # YAML 1.2: on is text
        "ENABLED": "true",
        "COUNT": "3",
        "REGION": "eu-west-1",
        "URL": "https://123456789012.amazonaws.com/dev/${Literal}",
        "JOINED": "a-dev-x",
        "ENCODED": "aGk=",
        "CHOSEN": "yes-dev",
        "VARS": "me-dev",
        "MAPPED": "fallback",
    }
    other = function_spec(project / "template.yaml", "Api", parameters={"Stage": "prod"}, region="cn-north-1")
    assert other.memory_mb == 512  # no prod tier: the default, from the list parameter
    assert other.env["CHOSEN"] == "not-dev"
    assert other.env["DROPPED"] == "value"
    assert other.env["URL"] == "https://123456789012.amazonaws.com.cn/prod/${Literal}"


@pytest.mark.parametrize(
    ("overrides", "parameters", "message"),
    [
        (
            (),
            {"Secret": "s"},
            "Environment.Variables.TABLE of function 'Worker'.*resource, known only once deployed"
            ".*--env TABLE=VALUE",
        ),
        (("TABLE",), {"Secret": "s"}, "Environment.Variables.ARN.*known only once deployed"),
        (
            ("TABLE", "ARN"),
            {},
            "Environment.Variables.SECRET.*parameter without a default.*--parameter Secret=VALUE",
        ),
    ],
)
def test_what_cannot_be_known_before_deploying_names_the_property(
    project: Path, overrides: tuple[str, ...], parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        function_spec(project / "template.yaml", "Worker", env_overrides=overrides, parameters=parameters)
    assert caught.value.context["function"] == "Worker"


def test_given_values_fill_what_the_template_cannot(project: Path) -> None:
    spec = function_spec(
        project / "template.yaml", "Worker", env_overrides=("TABLE", "ARN"), parameters={"Secret": "s"}
    )
    assert spec.env["SECRET"] == "s"
    assert "TABLE" not in spec.env
    assert spec.python == "3.11"


def _template(project: Path, text: str) -> Path:
    path = project / "other.yaml"
    path.write_text(text)
    return path


FUNCTION = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("      PackageType: Image\n", "PackageType.*zip functions"),
        ("      Runtime: nodejs20.x\n      Handler: a.b\n", "Runtime.*not a Python runtime"),
        ("      Handler: a.b\n", "Runtime.*missing"),
        ("      Runtime: python3.12\n", "Handler.*missing"),
        ("      Runtime: python3.12\n      Handler: a.b\n      InlineCode: x\n", "InlineCode"),
        (
            "      Runtime: python3.12\n      Handler: a.b\n      CodeUri: s3://b/k.zip\n",
            "CodeUri.*not a local",
        ),
        (
            "      Runtime: python3.12\n      Handler: a.b\n      CodeUri: nowhere\n",
            "CodeUri.*not a directory",
        ),
        ("      Runtime: python3.12\n      Handler: a.b\n      MemorySize: lots\n", "not numbers"),
        ("      Runtime: python3.12\n      Handler: a.b\n      Environment: {Variables: [1]}\n", "mapping"),
        (
            "      Runtime: python3.12\n      Handler: a.b\n"
            "      Layers: [arn:aws:lambda:us-east-1:1:layer:x:1]\n",
            "published layer version.*--layer",
        ),
        (
            "      Runtime: python3.12\n      Handler: a.b\n      Layers: !Ref Nothing\n",
            "Layers.*no such parameter",
        ),
        (
            "      Runtime: python3.12\n      Handler: a.b\n      Layers: 3\n",
            "Layers of function 'Fn'.*expected a list",
        ),
        (
            "      Runtime: python3.12\n      Handler: a.b\n      Layers: [!GetAtt X.Arn]\n",
            r"Layers\[0\].*GetAtt",
        ),
        ("      Runtime: !If [Missing, a, b]\n", "not in the template's Conditions"),
        ("      Runtime: !Select [9, [a]]\n", "Select.*malformed"),
        ("      Runtime: !Sub [1, {}]\n", "Sub needs a string"),
        ("      Runtime: !Sub '${A.B}'\n", "attribute"),
        ("      Runtime: !Join ['', [{a: b}]]\n", "not a string or a number"),
        ("      Runtime: !If [!Bad x, a, b]\n", "cannot be evaluated"),
        ("      Runtime: !Ref [1]\n", "needs a name"),
    ],
)
def test_function_problems_are_clear(project: Path, properties: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        function_spec(_template(project, FUNCTION + properties), "Fn")


def test_layer_problems_are_clear(project: Path) -> None:
    layer = "  L:\n    Type: AWS::Serverless::LayerVersion\n    Properties: {ContentUri: %s}\n"
    body = FUNCTION + "      Runtime: python3.12\n      Handler: a.b\n      Layers: [!Ref L]\n"
    with pytest.raises(ConfigurationError, match=r"does not exist.*build the layer first"):
        function_spec(_template(project, body + layer % "missing"), "Fn")
    with pytest.raises(ConfigurationError, match="not a local directory or zip"):
        function_spec(_template(project, body + layer % "s3://bucket/layer.zip"), "Fn")


def test_choosing_the_function(project: Path) -> None:
    with pytest.raises(ConfigurationError, match="has 2 functions \\(Api, Worker\\); choose one"):
        function_spec(project / "template.yaml")
    with pytest.raises(ConfigurationError, match="it is an AWS::DynamoDB::Table"):
        function_spec(project / "template.yaml", "Table")
    with pytest.raises(ConfigurationError, match="'Nope' is not an AWS::Serverless::Function"):
        function_spec(project / "template.yaml", "Nope")
    single = _template(project, FUNCTION + "      Runtime: python3.13\n      Handler: a.b\n")
    spec = function_spec(single)
    assert (spec.logical_id, spec.function_name, spec.task_root, spec.memory_mb, spec.timeout_s) == (
        "Fn",
        "Fn",
        str(project),
        128,
        3.0,
    )


def test_a_sam_build_output_works(project: Path) -> None:
    build = project / ".aws-sam" / "build"
    (build / "Api").mkdir(parents=True)
    (build / "SharedLayer" / "python").mkdir(parents=True)
    (build / "template.yaml").write_text(
        "Resources:\n"
        "  SharedLayer:\n    Type: AWS::Serverless::LayerVersion\n"
        "    Properties:\n      ContentUri: SharedLayer\n"
        "  Api:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: Api\n"
        "      Handler: app.handler\n      Runtime: python3.12\n      Layers: [!Ref SharedLayer]\n"
    )
    spec = function_spec(build / "template.yaml", "Api")
    assert spec.task_root == str(build / "Api")
    assert spec.layers == (str(build / "SharedLayer"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [", "not valid YAML"),
        ("- 1\n- 2\n", "no Resources mapping"),
        ("Resources: 3\n", "no Resources mapping"),
        ("Resources:\n  ? [a, b]\n  : 1\n", "not valid YAML"),
    ],
)
def test_templates_that_are_not_templates(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_template(text)


def test_an_unreadable_template(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read template"):
        function_spec(tmp_path / "missing.yaml")


def test_short_tags_read_as_their_long_form() -> None:
    document = parse_template(
        "Resources: {}\nA: !GetAtt Table.Arn\nB: !GetAtt [Table, Arn]\nC: !Ref X\nD: !Condition C\n"
        "E: !Sub [x, {a: !Ref Y}]\nF: !ImportValue {Name: n}\nG: 2016-10-31\nH: yes\nI: True\n"
    )
    assert document["A"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert document["B"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert document["C"] == {"Ref": "X"}
    assert document["D"] == {"Condition": "C"}
    assert document["E"] == {"Fn::Sub": ["x", {"a": {"Ref": "Y"}}]}
    assert document["F"] == {"Fn::ImportValue": {"Name": "n"}}
    assert (document["G"], document["H"], document["I"]) == ("2016-10-31", "yes", True)


def _outcome(call: Callable[[], T]) -> tuple[T, None] | tuple[None, ConfigurationError]:
    try:
        return call(), None
    except ConfigurationError as error:
        return None, error


@given(st.text(max_size=200))
def test_any_text_is_a_template_or_a_configuration_error(text: str) -> None:
    document, error = _outcome(lambda: parse_template(text))
    if error is not None:
        assert error.context["setting"] == "template"
    else:
        assert isinstance(document["Resources"], dict)


_TAGS = st.sampled_from(["!Ref", "!Sub", "!GetAtt", "!If", "!Join", "!Select", "!Base64", "!Nope", "!"])
_SCALARS = st.sampled_from(["x", "A.B", "'${A}'", "[a, b]", "{k: v}", "[1, [2]]", "''", "1", "[!Ref P, x]"])


@given(st.lists(st.tuples(_TAGS, _SCALARS), max_size=5))
def test_tagged_values_resolve_or_name_the_property(values: list[tuple[str, str]]) -> None:
    variables = "".join(f"          V{i}: {tag} {value}\n" for i, (tag, value) in enumerate(values))
    text = (
        "Parameters: {P: {Type: String, Default: p}}\n"
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.12\n      Handler: a.b\n      CodeUri: .\n"
        "      Environment:\n        Variables:\n" + (variables or "          {}\n")
    )
    directory = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        document = parse_template(text)
    except ConfigurationError:
        return
    import tempfile

    with tempfile.TemporaryDirectory(dir=directory) as folder:
        path = Path(folder) / "t.yaml"
        path.write_text(json.dumps(document))
        spec, error = _outcome(lambda: function_spec(path, "Fn"))
        if error is not None:
            assert str(error.context["property"]).startswith("Environment.Variables.V")
        else:
            assert all(isinstance(value, str) for value in spec.env.values())


@given(
    st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=3),
    st.dictionaries(st.sampled_from("bcd"), st.integers(), max_size=3),
)
def test_globals_merge_as_sam_merges_them(globals_: dict[str, int], own: dict[str, int]) -> None:
    merged = merge_globals(
        {"Map": globals_, "List": [1], "Scalar": 1}, {"Map": own, "List": [2], "Scalar": 2}
    )
    assert merged["Map"] == {**globals_, **own}
    assert merged["List"] == [1, 2]
    assert merged["Scalar"] == 2
    assert merge_globals({"Ref": "A"}, {"Ref": "B"}) == {"Ref": "B"}  # intrinsics are values, not maps


# -- examples/tuned/template.yaml ----------------------------------------------------


def test_the_example_template_passes_cfn_lint() -> None:
    pytest.importorskip("cfnlint", reason="cfn-lint is in the dev extra")
    command = shutil.which("cfn-lint", path=os.path.dirname(sys.executable))
    assert command is not None
    done = subprocess.run(
        [command, str(TUNED / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _tuned_copy(tmp_path: Path, layer: Path | None = None) -> Path:
    """examples/tuned copied with its layer where the template expects it (../../build/...)."""
    example = tmp_path / "examples" / "tuned"
    shutil.copytree(TUNED, example, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "build" / "lambda-kit-layer"
    if layer is None:  # the layer the example needs: lambda_kit alone (conftest's modules are not importable)
        source = TUNED.parents[1] / "lambda_kit"
        shutil.copytree(
            source, target / "python" / "lambda_kit", ignore=shutil.ignore_patterns("__pycache__")
        )
    else:
        shutil.copytree(layer, target)
    return example / "template.yaml"


def test_the_example_template_reads_as_deployed(tmp_path: Path) -> None:
    template = _tuned_copy(tmp_path)
    spec = function_spec(template, "OrdersFunction")
    assert (spec.handler, spec.python, spec.memory_mb, spec.timeout_s) == ("app.handler", "3.12", 512, 10.0)
    assert spec.env == {"DB_SECRET_ID": "demo/db"}
    assert spec.layers == (str(tmp_path / "build" / "lambda-kit-layer"),)
    with_inventory = function_spec(template, "OrdersFunction", parameters={"InventoryUrl": "https://inv"})
    assert with_inventory.env["INVENTORY_URL"] == "https://inv"
    consumer = function_spec(template, "OrdersConsumer")
    assert consumer.handler == "consumer.handler"
    document = parse_template(template.read_text())
    resources = document["Resources"]
    assert resources["OrdersApi"]["Properties"]["BinaryMediaTypes"] == ["application/x-protobuf"]
    sqs = resources["OrdersConsumer"]["Properties"]["Events"]["Orders"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = resources["OrdersQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]}


def _invoke(
    template: Path, aws: AwsStandIn, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object]]:
    import uuid

    secret = f"demo/template-{uuid.uuid4().hex}"
    aws.client("secretsmanager").create_secret(
        Name=secret, SecretString=json.dumps({"username": "app", "password": "pw"})
    )
    environment = [f"--env={key}={value}" for key, value in aws.environ().items()]
    command = ["invoke", "--template", str(template), "--function", "OrdersFunction"]
    options = ["--event", str(EVENT), "--json", "--parameter", f"DbSecretId={secret}"]
    code = main([*command, *options, *environment, *extra])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.emulator
def test_the_example_runs_from_its_template(
    tmp_path: Path, aws: AwsStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    template = _tuned_copy(tmp_path)
    # This interpreter (it has protobuf and boto3); lambda_kit comes from the layer.
    code, document = _invoke(template, aws, capsys, "--python", sys.executable)
    assert code == 0, document
    body = json.loads(json.loads(str(document["payload"]))["body"])
    assert body == {"order_id": "42", "user": "app", "in_stock": None}
    assert "Init Duration" in str(document["log"])
    assert document["report"]["memory_size_mb"] == 512  # type: ignore[index]


@pytest.mark.emulator
def test_the_example_runs_from_its_template_under_python312(
    tmp_path: Path,
    layer312: Path,
    python312: Interpreter,
    aws: AwsStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template = _tuned_copy(tmp_path, layer312)
    code, document = _invoke(template, aws, capsys, "--function-name", "orders-312")
    assert code == 0, document
    body = json.loads(json.loads(str(document["payload"]))["body"])
    assert body["user"] == "app"


def test_the_command_line_needs_a_handler_or_a_template(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["invoke"], "give the handler"),
        (["invoke", "a.b", "--function", "F"], "--function and --parameter read a SAM template"),
        (["bench", "--template", "t.yaml", "--parameter", "novalue"], "--parameter expects NAME=VALUE"),
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert message in capsys.readouterr().err


def test_a_template_problem_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["invoke", "--template", str(project / "template.yaml"), "--function", "Worker"])
    assert code == 2
    assert "Environment.Variables.TABLE" in capsys.readouterr().err


@pytest.mark.emulator
def test_bench_reads_the_template_and_options_win(
    project: Path, handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(handlers / "runtime_info.py", project / "src" / "runtime_info.py")
    template = ["--template", str(project / "template.yaml"), "--function", "Api"]
    options = ["--python", sys.executable, "--memory", "256", "--layer", str(project / "layers" / "shared")]
    quick = ["--cold", "1", "--warm", "1", "--no-import-profile", "--no-bytecode-check", "--json"]
    extra = ["--env", "EXTRA=1", "--function-name", "given-name"]
    code = main(["bench", "runtime_info.handler", *template, *options, *quick, *extra])
    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
    assert document["memory_mb"] == 256
    assert document["handler"] == "Api (runtime_info.handler)"
    assert document["bytecode"] is None
