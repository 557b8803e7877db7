"""lambda-kit's pytest plugin: fixtures for testing Lambda handlers (registered as ``lambda_kit``).

Installed with lambda-kit's ``tools`` extra and enabled through the ``pytest11`` entry
point; nothing to import or configure. Loading it imports no more than this module:
the fixtures' code and what they need (boto3, moto's server, the emulator) load
when a test first uses one. Every fixture's name starts with ``lambda_``:

* ``lambda_context``: a :class:`~lambda_kit.testing.FakeContext`.
* ``lambda_events``: the event factories, :mod:`lambda_kit.testing.events`.
* ``lambda_metrics``: the EMF lines the test writes, as :class:`~lambda_kit.testing.CapturedMetrics`.
* ``lambda_aws``: an AWS stand-in for this test, seeded, with the environment
  pointing AWS SDKs at it; ``lambda_aws_session``: one for the whole session.
* ``lambda_aws_seed``: what the stand-ins are seeded with (the ``lambda_aws_seed``
  ini setting's file by default; override the fixture to seed from code).
* ``lambda_import``: imports a handler module as INIT would, against ``lambda_aws``.
* ``lambda_emulator``: runs a handler of a task root under the real runtime client.

See docs/testing.md for a complete test file. Disable the plugin with
``-p no:lambda_kit``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import pytest

__all__: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "lambda_aws_seed",
        "lambda-kit: a JSON or YAML file of secrets and parameters to seed the lambda_aws stand-ins "
        "with (relative to the ini file)",
        default="",
    )
    parser.addini(
        "lambda_task_root",
        "lambda-kit: the default task root (handler code directory) of lambda_emulator "
        "(relative to the ini file; the root directory by default)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The fixtures live in their own module, imported once pytest is configured rather
    # than when the plugin loads: tools that start with the session (pytest-cov) then see
    # their module run. It imports only pytest and the standard library.
    import importlib

    config.pluginmanager.register(
        importlib.import_module("lambda_kit_dev.pytest_plugin._fixtures"), "lambda_kit.fixtures"
    )
