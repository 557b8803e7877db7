"""What the runtime has imported before it imports a handler module (read at this module's import)."""

import sys

LOADED = sorted(sys.modules)


def modules(event, context):
    return LOADED
