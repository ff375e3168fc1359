"""Bounded capture of what a measured process writes: the first `limit` bytes and the last TAIL bytes are
kept, the middle is counted and dropped, so neither the controller's memory nor the disk grows with output.

The file a process (or a runtime's WASI layer) writes to is a FIFO; a thread of the controller drains it.
The controller holds a writer of its own on the FIFO until the process has ended, so writers that open and
close it in turn (one per warm invocation) never end the capture early. When the capture stops, the FIFO is
replaced by a regular file with the kept bytes, so readers see an ordinary file.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LIMIT = 16 << 20      # bytes kept from the start of each stream (--max-output)
TAIL = 64 << 10               # bytes always kept from its end (a checksum line, the last error lines)
CHUNK = 1 << 16
POLL_MS = 100


@dataclass(frozen=True)
class Captured:
    """How much a stream carried and how much of it was dropped."""

    name: str
    total: int
    dropped: int

    def note(self) -> str:
        """A row note, '' when nothing was dropped."""
        if not self.dropped:
            return ""
        return f"{self.name}: {self.total:,} bytes written, {self.dropped:,} dropped (the first and last bytes kept)"


class Capture:
    """Drain a FIFO at `path` into a bounded copy; `stop()` leaves a regular file there with what was kept."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT):
        self.path, self.limit = Path(path), limit
        self.path.unlink(missing_ok=True)
        os.mkfifo(self.path, 0o600)
        self._read_fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self._hold_fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)   # no EOF until stop()
        except OSError:
            os.close(self._read_fd)
            raise
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._drain, name=f"capture {self.path.name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        """Read until every writer is gone, or until told to stop (a straggler keeps the FIFO open)."""
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN | select.POLLHUP)
        while True:
            if not poller.poll(POLL_MS):
                if self._stopping.is_set():
                    return
                continue
            try:
                chunk = os.read(self._read_fd, CHUNK)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not chunk:
                return
            self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > TAIL:
                del self.tail[:len(self.tail) - TAIL]

    def stop(self, timeout: float = 5.0) -> Captured:
        """End the capture (the process has ended) and put the kept bytes where the FIFO was."""
        os.close(self._hold_fd)
        self._thread.join(timeout)
        self._stopping.set()               # a writer still holds it: stop at the next quiet poll
        self._thread.join()
        os.close(self._read_fd)            # only now: the thread no longer reads it
        kept = bytes(self.head)
        dropped = max(self.total - len(self.head) - len(self.tail), 0)
        if self.tail:
            kept += (f"\n[hwprof: {dropped:,} bytes dropped here]\n".encode() if dropped else b"") + bytes(self.tail)
        tmp = self.path.with_name(f".{self.path.name}.kept")
        try:
            tmp.write_bytes(kept)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            raise
        return Captured(self.path.name, self.total, dropped)


@contextlib.contextmanager
def captured(workdir: Path, names: tuple[str, ...], limit: int):
    """Capture each named file of a measured process's work folder for the block; yields the list that receives
    what each stream carried once the block ends. Every capture is stopped, whatever goes wrong."""
    streams, carried = [], []
    try:
        for name in names:
            streams.append(Capture(workdir / name, limit))
        yield carried
    finally:
        problem = None
        for s in streams:
            try:
                carried.append(s.stop())
            except OSError as exc:
                problem = problem or exc
        if problem is not None:
            raise problem
