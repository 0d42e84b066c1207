"""Browser tests: the app served on 127.0.0.1 in a thread, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe.min.js")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("REQUIRE_E2E"):
        raise pytest.UsageError(f"browser tests required but no Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Never let Playwright download a browser: use Debian's, with the flags this machine needs.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


def run_axe(page) -> list[dict]:
    """Serious and critical accessibility violations on the current page (axe-core)."""
    page.add_script_tag(path=AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture()
def shot(output_path):
    """shot("name.png") -> a path in this test's output folder (test-results/...)."""
    os.makedirs(output_path, exist_ok=True)
    return lambda name: os.path.join(output_path, name)


# The Stripe stand-in, wired to the served app (the deposit's browser test pays through it).
from tests.payments.conftest import stripe_live  # noqa: E402, F401
