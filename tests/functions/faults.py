"""Handlers whose runtime misbehaves, for the emulator's fault tests."""

import os
import subprocess
import sys
import threading
import time


def die_later(event, context):
    # A background thread ends the process just after the response (a native crash,
    # os._exit in a library...): the environment looks idle but its runtime is gone.
    threading.Thread(target=lambda: (time.sleep(0.05), os._exit(1)), daemon=True).start()
    return {"pid": os.getpid()}


def spawn_then_exit(event, context):
    sleeper = subprocess.Popen(["/bin/sleep", "300"])
    print(f"sleeper {sleeper.pid}", flush=True)
    sys.exit(3)


def print_then_sleep(event, context):
    print("step 1: calling the slow dependency", flush=True)
    time.sleep(event.get("seconds", 30))
    return "done"


def paths(event, context):
    import botocore.session

    client = botocore.session.get_session().create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        client.get_caller_identity()
    except Exception as error:  # nothing listens on port 9: the call is counted all the same
        print(type(error).__name__)
    return {"sys_path": sys.path, "PYTHONPATH": os.environ.get("PYTHONPATH")}
