"""Bounded capture of what a measured process writes: the first `limit` bytes and the last TAIL bytes are
kept, the middle is counted and dropped, so neither the controller's memory nor the disk grows with output.

The file a process (or a runtime's WASI layer) writes to is a FIFO; a thread of the controller drains it.
The controller holds a writer of its own on the FIFO until the process has ended, so writers that open and
close it in turn (one per warm invocation) never end the capture early. When the capture stops, the FIFO is
replaced by a regular file with the kept bytes, so readers see an ordinary file.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LIMIT = 16 << 20      # bytes kept from the start of each stream (--max-output)
TAIL = 64 << 10               # bytes always kept from its end (a checksum line, the last error lines)
CHUNK = 1 << 16


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
        self._hold_fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)   # no EOF until stop()
        os.set_blocking(self._read_fd, True)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._drain, name=f"capture {self.path.name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._read_fd, CHUNK)
            except OSError:
                return
            if not chunk:
                return
            self.total += len(chunk)
            room = self.limit - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > TAIL:
                    del self.tail[:len(self.tail) - TAIL]

    def stop(self, timeout: float = 10.0) -> Captured:
        """End the capture (the process has ended) and put the kept bytes where the FIFO was."""
        os.close(self._hold_fd)
        self._thread.join(timeout)
        os.close(self._read_fd)
        kept = bytes(self.head)
        dropped = self.total - len(self.head) - len(self.tail)
        if self.tail:
            kept += (f"\n[hwprof: {dropped:,} bytes dropped here]\n".encode() if dropped > 0 else b"") + bytes(self.tail)
        tmp = self.path.with_name(f".{self.path.name}.kept")
        tmp.write_bytes(kept)
        os.replace(tmp, self.path)
        return Captured(self.path.name, self.total, max(dropped, 0))


def capture_all(workdir: Path, names: tuple[str, ...], limit: int) -> dict[str, Capture]:
    """Start a capture for each named file of a measured process's work folder."""
    return {name: Capture(workdir / name, limit) for name in names}
