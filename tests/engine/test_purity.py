"""The engine is pure: importing any of its modules must not import Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import milepost.engine

SRC = Path(milepost.engine.__file__).resolve().parents[2]

CHECK = """
import importlib, pkgutil, sys
import milepost.engine as engine
names = sorted(m.name for m in pkgutil.iter_modules(engine.__path__, "milepost.engine."))
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
assert not leaked, f"importing the engine imported {leaked[:5]}"
assert len(names) >= 10, names
print(len(names))
"""


def test_importing_every_engine_module_does_not_import_django() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 10
