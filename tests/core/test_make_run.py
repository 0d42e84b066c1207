"""`make run PORT=5200` makes every email link point at that port: BASE_URL follows HOST and
PORT unless it is set (the line `make run` would run, evaluated as make runs it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _base_url(make_args: list[str], env_base_url: str | None) -> str:
    plan = subprocess.run(["make", "-n", "run", *make_args], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    export = re.search(r'export BASE_URL="[^"]*"', plan)
    assert export, "make run must export BASE_URL"
    env = {k: v for k, v in os.environ.items() if k != "BASE_URL"}
    if env_base_url:
        env["BASE_URL"] = env_base_url
    show = "from config import Config; print(Config.BASE_URL)"
    script = f'{export.group(0)}; "{sys.executable}" -c "{show}"'
    return subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize(("args", "expected"), [
    ([], "http://127.0.0.1:5000"),
    (["PORT=5200"], "http://127.0.0.1:5200"),
    (["HOST=localhost", "PORT=8080"], "http://localhost:8080"),
])
def test_base_url_follows_host_and_port(args, expected) -> None:
    assert _base_url(args, None) == expected


def test_a_set_base_url_wins() -> None:
    assert _base_url(["PORT=5200"], "https://book.example.org") == "https://book.example.org"
