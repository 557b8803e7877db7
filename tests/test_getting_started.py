"""The tutorial's project (examples/getting_started) passes its own tests, run as its user runs them.

The project is a user's project: its own ``pyproject.toml`` (pytest settings), its own
``tests/conftest.py``, modules named ``app`` and ``consumer`` as in any Lambda task root.
So its tests run as a separate pytest process from its directory rather than through this
suite's ``testpaths``: collected here, they would share ``sys.modules`` with
examples/tuned's ``app`` and this suite's autouse fixtures, coverage gate and options,
and would no longer show that the tutorial works on its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent / "examples" / "getting_started"


def test_the_tutorial_project_passes_its_own_tests() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("COV_CORE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None, done.stdout[-2000:]
    assert int(passed.group(1)) >= 13  # every test of the tutorial ran; none was skipped
    assert "skipped" not in done.stdout.splitlines()[-1]
