"""A module that needs more memory at import than a 128 MB function has (INIT runs out)."""

HELD = bytearray(300 * 1024 * 1024)


def handler(event, context):
    return len(HELD)
