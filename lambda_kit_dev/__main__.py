"""``python -m lambda_kit_dev``: the ``lambda-kit`` command line."""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Entry point of the ``lambda-kit`` console script."""
    from lambda_kit_dev._cli import main as cli_main

    try:
        return cli_main()
    except BrokenPipeError:
        # The reader of stdout went away (``lambda-kit bench --json | head``): nothing
        # more can be said. Point stdout at /dev/null so that the interpreter's final
        # flush does not print a second error, and report the failure in the status.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


if __name__ == "__main__":
    sys.exit(main())
