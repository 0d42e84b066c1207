"""Version keys in Redis, known in this process without a round trip a request.

A few Redis keys say whether what a process kept is still good: the availability cache's
version (scheduling/cache.py) and the database's write generation (core/personal_pages.py).
Asking Redis for one on every request cost a round trip: ~0.1 ms, and under load on a 2-core
box a third of a small request's throughput, more than the rest of the cached request
(bench/pages.py).

So each process keeps the value it last read, and is told when to forget it. Whoever changes
a version key publishes its name on CHANNEL in the same round trip (`changed`); one listener
thread per process, on its own connection (redis-py's PubSub), forgets that key, and the next
read asks Redis again. The changing process forgets at once, so it always sees its own writes.

Another process sees a change once its listener has run: within a few milliseconds (the
publish, then the interpreter's switch interval, 5 ms, at worst). A cached answer could be
served in that window, as one could between a commit and its bump before. Slots stay safe:
a hold checks live data and the database refuses overlaps. While the listener is not
subscribed (starting, Redis restarted or unreachable) nothing is kept and every read asks
Redis, as before. A kept value is also asked again after KEEP_SECONDS, so even a lost message
cannot keep an old version for long."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

CHANNEL = "spinebridge:versions"
#: A kept value is asked of Redis again after this long, message or not.
KEEP_SECONDS = 30.0
#: The listener's connection's name in Redis's CLIENT LIST.
LISTENER_NAME = "spinebridge-versions"
#: The wait before the listener subscribes again after losing its connection.
RETRY_SECONDS = 1.0


def _get(client: redis.Redis, key: str) -> bytes | None:
    return client.get(key)


class Versions:
    """The version keys of one Redis, as this process last read them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=0.5)
        self._known: dict[str, tuple[bytes | None, float]] = {}
        #: Moves whenever something is forgotten: a read that raced a message is not kept.
        self._forgets = 0
        self._listening = False
        self._lock = threading.Lock()
        self._pid = 0
        self._stop = threading.Event()

    # --- reading ---------------------------------------------------------------------------

    def get(self, key: str,
            read: Callable[[redis.Redis, str], bytes | None] = _get) -> bytes | None:
        """The key's value: as kept while the listener holds it good, else `read` from Redis
        (which may raise redis.RedisError)."""
        if self._pid != os.getpid():
            self._start()
        if self._listening:
            known = self._known.get(key)
            if known is not None and known[1] > time.monotonic():
                return known[0]
        forgets = self._forgets
        value = read(self.client, key)
        with self._lock:  # None too: a key not yet set is known not to be
            if self._listening and self._forgets == forgets:
                self._known[key] = (value, time.monotonic() + KEEP_SECONDS)
        return value

    # --- changing --------------------------------------------------------------------------

    def changed(self, key: str, change: Callable[[redis.client.Pipeline], None]) -> None:
        """Run `change` (commands on a pipeline) and tell every process, in one round trip;
        this process forgets the key at once. Raises redis.RedisError as the commands would."""
        self.forget(key)
        pipe = self.client.pipeline(transaction=False)
        change(pipe)
        pipe.publish(CHANNEL, key)
        try:
            pipe.execute()
        finally:
            self.forget(key)  # a read between the two must not keep the old value

    def forget(self, key: str | None = None) -> None:
        """Ask Redis next time for `key` (or every key)."""
        with self._lock:
            self._forgets += 1
            if key is None:
                self._known.clear()
            else:
                self._known.pop(key, None)

    # --- the listener ----------------------------------------------------------------------

    def _start(self) -> None:
        """One listener per process (a forked child starts its own; threads do not survive
        a fork)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._listening = False
            self._known.clear()
            self._forgets += 1
            self._stop = threading.Event()
        threading.Thread(target=self._listen, args=(self._stop,), daemon=True,
                         name="spinebridge-versions").start()

    def _listen(self, stop: threading.Event) -> None:
        # Its own client: a read must not wait on the listener's socket, nor time out on it.
        client = redis.Redis.from_url(self.url, socket_timeout=None, socket_keepalive=True,
                                      health_check_interval=30, client_name=LISTENER_NAME)
        while not stop.is_set():
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._listen_from_now(True)
                    elif message["type"] == "message":
                        self.forget(message["data"].decode())
            except Exception:  # noqa: BLE001 - the thread must live; reads fall back to Redis
                # Once per outage, not once per retry.
                (log.warning if self._listening else log.debug)(
                    "version listener lost Redis; asking it on every read", exc_info=True)
            finally:
                self._listen_from_now(False)
                pubsub.close()
            stop.wait(RETRY_SECONDS)

    def _listen_from_now(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            self._known.clear()  # messages may have been missed while not subscribed
            self._forgets += 1

    @property
    def listening(self) -> bool:
        return self._listening

    def stop(self) -> None:
        """End this process's listener (tests)."""
        self._stop.set()
        self._pid = 0
        self._listen_from_now(False)


_by_url: dict[str, Versions] = {}
_by_url_lock = threading.Lock()


def of(url: str) -> Versions:
    """The version keys of the Redis at `url`, shared by the whole process."""
    versions = _by_url.get(url)
    if versions is None:
        with _by_url_lock:
            versions = _by_url.setdefault(url, Versions(url))
    return versions


def forget_all() -> None:
    """Ask Redis next time for every key (tests, after emptying the Redis database)."""
    for versions in list(_by_url.values()):
        versions.forget()
