"""The host's account of its cached artefacts: who holds what, how many bytes, and what to evict.

A holder is a worker's index (a module in that worker's memory) or "disk" (a file any worker can use).
The budget covers every holder together. When a new artefact does not fit, the least recently used
ones go (an artefact bigger than the whole budget is not kept at all); with a keep-alive, one unused for
longer goes too. A worker is told to forget what it held with its next job; a file is deleted at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

DISK = "disk"


@dataclass
class Entry:
    """One cached artefact."""

    holder: int | str
    key: str                     # the wasm's digest
    target: str
    nbytes: int
    last_used: float
    path: str = ""


class ArtefactCache:
    """Cached artefacts under a memory budget, LRU eviction and an optional keep-alive."""

    def __init__(self, budget: int, keep_alive_s: float | None = None):
        self.budget, self.keep_alive_s = budget, keep_alive_s
        self._entries: dict[tuple, Entry] = {}
        self._pending: dict[int, list[list[str]]] = {}
        self._lock = threading.Lock()
        self.evictions = 0

    def holders(self, key: str, target: str, now: float) -> set:
        """Who holds this artefact now (after dropping what outlived its keep-alive)."""
        with self._lock:
            self._expire(now)
            return {e.holder for e in self._entries.values() if e.key == key and e.target == target}

    def touch(self, holder, key: str, target: str, now: float) -> None:
        """A request used this artefact."""
        with self._lock:
            entry = self._entries.get((holder, key, target))
            if entry is not None:
                entry.last_used = now

    def keep(self, holder, key: str, target: str, nbytes: int, now: float, path: str = "") -> bool:
        """Account a newly compiled artefact, evicting the least recently used until it fits; False: not kept."""
        with self._lock:
            self._entries.pop((holder, key, target), None)     # compiled afresh: its old account goes
            if nbytes > self.budget:
                self._forget(Entry(holder, key, target, nbytes, now, path))
                return False
            while self.held_bytes_locked() + nbytes > self.budget:
                self._drop(min(self._entries, key=lambda k: self._entries[k].last_used), evicted=True)
            self._entries[(holder, key, target)] = Entry(holder, key, target, nbytes, now, path)
            return True

    def clear(self) -> int:
        """Drop every cached artefact (files at once, workers' modules with their next job); how many went."""
        with self._lock:
            keys = list(self._entries)
            for k in keys:
                self._drop(k)
            return len(keys)

    def pending_for(self, holder: int) -> list[list[str]]:
        """What this worker is to forget before its next job (drained)."""
        with self._lock:
            return self._pending.pop(holder, [])

    def drop_holder(self, holder: int, target: str | None = None) -> None:
        """A worker was restarted (or its helper for one target was): what it held (for that target) is gone."""
        with self._lock:
            for k in [k for k, e in self._entries.items() if e.holder == holder and target in (None, e.target)]:
                del self._entries[k]
            if target is None:
                self._pending.pop(holder, None)
            else:
                self._pending[holder] = [p for p in self._pending.get(holder, []) if p[1] != target]

    @property
    def held_bytes(self) -> int:
        """Bytes of cached artefacts kept now."""
        with self._lock:
            return self.held_bytes_locked()

    def held_bytes_locked(self) -> int:
        """held_bytes, for a caller that holds the lock."""
        return sum(e.nbytes for e in self._entries.values())

    def _expire(self, now: float) -> None:
        if self.keep_alive_s is None:
            return
        for k in [k for k, e in self._entries.items() if now - e.last_used > self.keep_alive_s]:
            self._drop(k, evicted=True)

    def _drop(self, k: tuple, evicted: bool = False) -> None:
        entry = self._entries.pop(k, None)
        if entry is not None:
            self.evictions += int(evicted)
            self._forget(entry)

    def _forget(self, entry: Entry) -> None:
        if entry.holder == DISK:
            if entry.path:
                Path(entry.path).unlink(missing_ok=True)
        else:
            self._pending.setdefault(entry.holder, []).append([entry.key, entry.target])
