"""Copies kept in this process's memory, each with the version it was made at (the
availability cache's answers, the kept signed-in pages): at most a number of bytes, the least
recently used dropped first, and each for at most `ttl` seconds, so a lost version bump or a
Redis restart cannot keep an old copy for ever."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class VersionedCopies:
    """key -> (version, value, monotonic deadline); `size(value)` is what counts to the limit."""

    def __init__(self, ttl: float, size: Callable[[Any], int] = len) -> None:
        self.ttl = ttl
        self._size_of = size
        self._items: OrderedDict[str, tuple[bytes, Any, float]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str, version: bytes) -> Any:
        """The value kept under `key` at `version` and not yet expired, else None."""
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != version or item[2] < time.monotonic():
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, version: bytes, value: Any, limit: int) -> None:
        size = self._size_of(value)
        if size > limit:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= self._size_of(old[1])
            self._items[key] = (version, value, time.monotonic() + self.ttl)
            self._size += size
            while self._size > limit:
                _key, (_version, dropped, _deadline) = self._items.popitem(last=False)
                self._size -= self._size_of(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0
