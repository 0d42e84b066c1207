"""Version keys known in this process, forgotten when any process changes them
(booking/core/versions.py), against the test Redis."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import redis

from booking.core import versions
from tests.conftest import bump_in_another_process

URL = os.environ.get("TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="version keys live in Redis")
KEY = "spinebridge:test:version"


class CountingReads:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, client: redis.Redis, key: str) -> bytes | None:
        self.calls += 1
        return client.get(key)


def _until(condition, seconds: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture()
def keys() -> Iterator[versions.Versions]:
    """A fresh set of version keys with its listener subscribed."""
    known = versions.Versions(URL)
    known.client.set(KEY, b"1")
    known.get(KEY)  # starts the listener
    assert _until(lambda: known.listening), "the listener never subscribed"
    yield known
    known.stop()
    known.client.delete(KEY)


def test_a_value_is_read_once_then_known_without_asking_redis(keys):
    reads = CountingReads()
    assert keys.get(KEY, reads) == b"1"
    assert [keys.get(KEY, reads) for _ in range(50)] == [b"1"] * 50
    assert reads.calls == 1


def test_this_process_sees_its_own_change_at_once(keys):
    keys.get(KEY)
    keys.changed(KEY, lambda pipe: pipe.set(KEY, b"2"))
    assert keys.get(KEY) == b"2"


def test_another_process_change_is_seen_within_moments(keys):
    reads = CountingReads()
    assert keys.get(KEY, reads) == b"1"
    bump_in_another_process(URL, KEY, "set", "from-elsewhere")
    assert _until(lambda: keys.get(KEY, reads) == b"from-elsewhere", seconds=2)
    calls = reads.calls
    keys.get(KEY, reads)
    assert reads.calls == calls  # known again until the next change


def test_a_change_made_without_telling_is_not_seen_until_asked_again(keys, monkeypatch):
    """A bare SET (no message) is what a lost message looks like: the kept value lasts only
    KEEP_SECONDS."""
    assert keys.get(KEY) == b"1"
    keys.client.set(KEY, b"untold")
    assert keys.get(KEY) == b"1"
    monkeypatch.setattr(versions, "KEEP_SECONDS", 0.0)
    keys.forget(KEY)
    keys.get(KEY)  # kept for no time at all
    keys.client.set(KEY, b"untold again")
    assert keys.get(KEY) == b"untold again"


def test_a_read_that_raced_a_change_is_not_kept(keys):
    """The listener forgot the key while the read was on its way: what it read may be the old
    value, so it is used once and asked again next time."""
    reads = CountingReads()

    def read_while_a_message_arrives(client: redis.Redis, key: str) -> bytes | None:
        value = reads(client, key)
        keys.forget(key)
        return value

    keys.get(KEY, read_while_a_message_arrives)
    keys.get(KEY, reads)
    assert reads.calls == 2


def test_without_the_listener_every_read_asks_redis(keys):
    keys.stop()
    assert not keys.listening
    keys._pid = os.getpid()  # as if started, with the listener gone (stopped, not respawned)
    reads = CountingReads()
    for _ in range(3):
        keys.get(KEY, reads)
    assert reads.calls == 3
    keys.client.set(KEY, b"untold")  # no message, no listener: still seen at once
    assert keys.get(KEY) == b"untold"


def test_a_lost_connection_forgets_what_was_known_and_subscribes_again(keys):
    """Messages sent while the listener was away are lost, so it starts from nothing."""
    assert keys.get(KEY) == b"1"
    for connection in keys.client.client_list():
        if connection["name"] == versions.LISTENER_NAME:
            keys.client.client_kill_filter(_id=connection["id"])
    keys.client.set(KEY, b"changed while away")  # its message was not heard
    assert _until(lambda: keys.get(KEY) == b"changed while away", seconds=5)
    assert _until(lambda: keys.listening, seconds=5)


def test_unreachable_redis_raises_for_the_caller_to_fall_back():
    known = versions.Versions("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(redis.RedisError):
            known.get(KEY)
        assert not known.listening
    finally:
        known.stop()


def test_a_forked_child_starts_its_own_listener(keys):
    keys._pid = -1  # what a child sees: the parent's pid
    keys.get(KEY)
    assert keys._pid == os.getpid()
    assert _until(lambda: keys.listening)
