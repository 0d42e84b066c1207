"""An SMTP sink for benchmarks that runs in its own process, as a real mail server would (the
test sink parses every message in the test's process, which would bill its CPU to the worker).
It appends each message's Message-ID to a file, one line per email received."""

from __future__ import annotations

import multiprocessing
import re
import time
from pathlib import Path

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _Handler:
    def __init__(self, path: Path) -> None:
        self.out = path.open("ab", buffering=0)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 (aiosmtpd)
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(headers)
        self.out.write((found.group(1) if found else b"<none>") + b"\n")
        return "250 Message accepted for delivery"


def _serve(port: int, path: str, ready) -> None:  # noqa: ANN001
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(Path(path)), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


class ProcessSink:
    """Start with `start()`; `received()` lists the Message-IDs in arrival order."""

    def __init__(self, port: int, path: Path) -> None:
        self.port, self.path = port, path
        context = multiprocessing.get_context("spawn")
        self._ready = context.Event()
        self._process = context.Process(target=_serve, args=(port, str(path), self._ready),
                                        daemon=True)

    def start(self) -> None:
        self.path.write_bytes(b"")
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP sink process did not start")

    def clear(self) -> None:
        self.path.write_bytes(b"")

    def received(self) -> list[str]:
        return self.path.read_bytes().decode().splitlines()

    def count(self) -> int:
        return self.path.read_bytes().count(b"\n")

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)
