"""Writes more during INIT than a pipe holds (64 KB), so the emulator must drain it."""

import sys

sys.stdout.write("o" * 300_000 + "\n")
sys.stderr.write("e" * 300_000 + "\n")


def handler(event, context):
    return "ok"
