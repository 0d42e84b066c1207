"""Extensions' request hooks made conditional, for the requests where they have work to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_only_when(hooks: list, is_hook: Callable[[Any], bool], condition: Callable[[], bool],
                  name: str) -> bool:
    """Replace the hook `is_hook` finds in one of Flask's hook lists (after_request or
    teardown_request) by one that calls it only when `condition()` holds; otherwise the
    response (or the teardown's exception, which Flask ignores) is handed back as it came.
    Returns whether it was found: if a later version of the extension names its hook otherwise,
    the hook simply stays as it is (and the tests that look for `name` say so)."""
    for i, hook in enumerate(hooks):
        if is_hook(hook):

            def conditional(value=None, hook=hook):  # type: ignore[no-untyped-def]
                return hook(value) if condition() else value

            conditional.__name__ = conditional.__qualname__ = name
            hooks[i] = conditional
            return True
    return False
