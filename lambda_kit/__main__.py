"""``python -m lambda_kit``: the ``lambda-kit`` command line."""

from __future__ import annotations

import sys


def main() -> int:
    """Entry point of the ``lambda-kit`` console script."""
    from lambda_kit.emulator._cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
