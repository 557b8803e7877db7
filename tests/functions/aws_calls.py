import os

import boto3

_client = boto3.client("secretsmanager")
_at_init = _client.get_secret_value(SecretId=os.environ["SECRET_ID"])["SecretString"]


def handler(event, context):
    for _ in range(event.get("calls", 1)):
        _client.get_secret_value(SecretId=os.environ["SECRET_ID"])
    boto3.client("ssm").get_parameter(Name="/demo/flag")
    return {"init_value_length": len(_at_init)}
