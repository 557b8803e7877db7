"""Says what it is doing, then hangs in INIT."""

import time

print("INIT: connecting to the database", flush=True)
time.sleep(30)


def handler(event, context):
    return "never"
