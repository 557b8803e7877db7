"""A function whose INIT runs the garbage collector: once in full, and in young collections."""

import gc

KEPT = [[index] for index in range(50_000)]  # enough allocations for young collections
gc.collect()  # one full collection during INIT


def handler(event: dict[str, int], context: object) -> int:
    if event.get("collect"):
        gc.collect()
    return len(KEPT)
