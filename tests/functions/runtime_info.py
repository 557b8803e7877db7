"""What the runtime's interpreter is and sees, for the emulator's --python and --layer tests."""

import importlib
import importlib.util
import os
import sys


def handler(event, context):
    found = {}
    for name in event.get("modules", []):
        try:
            module = importlib.import_module(name)
        except ImportError:
            found[name] = None
        else:
            found[name] = {"file": getattr(module, "__file__", None), "value": getattr(module, "VALUE", None)}
    return {
        "version": list(sys.version_info[:2]),
        "executable": sys.executable,
        "sys_path": sys.path,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "path": os.environ.get("PATH"),
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
        "leaked": [name for name in os.environ if name.startswith("_LAMBDA_KIT_")],
        "modules": found,
    }
