"""A helper process speaking JSON lines: the pool's workers, and a worker's own helper for an engine that runs
outside Python (node) or must be killable (wasmer-sdk).

One JSON message a line each way, one at a time. Started on first use; a helper that dies or does not
answer in time is killed, and the next call starts another. Its own session (start_new_session): a
Ctrl-C at the terminal reaches the host, which stops gracefully, not the helpers under a request in flight.
When its worker ends, its stdin closes and it ends too.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess


class ChildLost(Exception):
    """A helper process that died or stopped answering; it has been killed, and what it held is gone."""


class Child:
    """One helper process speaking JSON lines on its stdin and stdout."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        self.argv, self.env = argv, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the helper unless it is up."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env,
                                         text=True, bufsize=1, start_new_session=True)

    def call(self, message: dict, wait_s: float) -> dict:
        """Send a message and read its answer; a helper silent for wait_s is killed and ChildLost raised."""
        self.start()
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], wait_s)
            line = self.proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            died = self.proc.poll()
            self.kill()
            raise ChildLost(f"died (status {died})" if died is not None else
                            f"gave no answer within {wait_s:g} s and was killed")
        return json.loads(line)

    @property
    def running(self) -> bool:
        """Whether the helper is up (it holds nothing when it is not)."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, wait_s: float = 5.0) -> None:
        """Close its stdin (it ends its loop), wait a little, then kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """Stop the helper now (the next call starts another)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):     # a write left in the buffer of a dead helper's pipe
                    pipe.close()
            self.proc = None
