"""The production entry point (`gunicorn wsgi:app`)."""

from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.conftest import ROOT


def test_the_entry_point_builds_the_production_app_and_freezes_what_it_built(tmp_path):
    """Startup objects are moved out of the collector's reach (gc.freeze): a full collection
    of the ~225,000 of them took ~100 ms, a stall of every request in the worker."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SECRET_KEY="wsgi-test-secret", ENCRYPTION_KEYS=Fernet.generate_key().decode(),
               DATABASE_URL=f"sqlite:///{tmp_path}/wsgi.sqlite", SPINEBRIDGE_ENV="production")
    code = ("import gc, wsgi; print(type(wsgi.app).__name__, wsgi.app.config['DEBUG'], "
            "gc.get_freeze_count() > 100_000)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["SpineBridge", "False", "True"]
