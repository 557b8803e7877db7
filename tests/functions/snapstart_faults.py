"""SnapStart handlers whose hooks fail or take long (run inside awslambdaric subprocesses)."""

import os
import time

from snapshot_restore_py import register_after_restore


@register_after_restore
def after_restore():
    if os.environ.get("RESTORE_FAULT") == "raise":
        raise RuntimeError("could not reconnect after the restore")
    time.sleep(float(os.environ.get("RESTORE_SLEEP_S", "0")))


def handler(event, context):
    return {"ok": True}
