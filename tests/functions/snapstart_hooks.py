"""Handlers for the SnapStart tests (run inside awslambdaric subprocesses)."""

import os
import random
import socket
import uuid

from snapshot_restore_py import register_after_restore, register_before_snapshot

print("INIT of snapstart_hooks")

random.seed()  # seeded once, at INIT: every restore draws the same numbers
SESSION_ID = str(uuid.uuid4())  # made at INIT: the same in every restore
REGION = os.environ.get("AWS_REGION", "")  # a constant: no hazard
_listener = socket.create_server(("127.0.0.1", 0))
CONNECTION = socket.create_connection(_listener.getsockname())  # opened before the snapshot


@register_before_snapshot
def first_before():
    print("hook: before snapshot 1")


@register_before_snapshot
def second_before():
    print("hook: before snapshot 2")


@register_after_restore
def first_after():
    print("hook: after restore 1")


@register_after_restore
def second_after():
    print("hook: after restore 2")


def handler(event, context):
    return {"pid": os.getpid(), "draw": random.random(), "session": SESSION_ID}
