import time

time.sleep(0.2)


def handler(event, context):
    return "ready"
