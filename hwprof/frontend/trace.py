"""The dynamic instruction stream of one counted phase, as ordered basic blocks, from valgrind's lackey.

Lackey with --trace-superblocks=yes prints "SB ADDR" each time a superblock starts. With chasing off
(--vex-guest-chase=no) and loop unrolling off (--vex-iropt-unroll-thresh=0) a superblock is one basic block
that ends at its first control transfer, so that line stream is the exact block order. Each block's bytes are
read from the running process's memory (/proc/PID/mem; valgrind runs its client in its own process) the first
time the block is seen: one way for ELF code and JIT code alike. The phase is the span between the phase
helper's two callgrind client requests (hwprof_begin's toggle, hwprof_end's toggle followed by its dump):
valgrind ends a block at each request's 19-byte magic sequence, which is how they are recognised. The phase
starts with the block after the begin request and ends with the block holding the end request (its
instructions up to the request ran inside the phase; the 5 instructions of the request's magic are kept,
since an uninstrumented run fetches them too).

Output: a PhaseTrace. `blocks` maps a block's start address to a Block (its bytes and instruction lengths);
`order` holds the start address of every block executed in the phase, in order (array of unsigned 64-bit).

Limits: x86-64 only; code freed or rewritten within the reader's lag behind the process (a pipe buffer) is
read as it is then, and a block first seen within that lag of the process's exit has no bytes (an error if it
is in the phase); a rep-prefixed string instruction appears once per iteration, as valgrind runs it; the phase
helper's toggles must be the only requests that a dump request follows within DUMP_GAP blocks; only phases
with a begin edge (not bootstrap). Cost: lackey traces the whole process (no toggles), so a Python host's
start-up (~5e8 instructions for wasmtime) dominates: 2mm under wasmtime ~45 s against cachegrind's ~19-26 s.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import tempfile
import threading
from array import array
from dataclasses import dataclass, field
from pathlib import Path

# valgrind's client-request preamble on amd64 (rol rdi 3, 13, 61, 51; xchg rbx, rbx): it ends a block.
MAGIC = bytes.fromhex("48c1c703" "48c1c70d" "48c1c73d" "48c1c733" "4887db")
MAX_INSNS = 60          # valgrind's guest instructions per superblock, set explicitly in the command
F_SETPIPE_SZ = 1031      # fcntl.h (Linux)
DUMP_GAP = 16           # blocks from hwprof_end's toggle to its dump request, at most
LACKEY = ["--tool=lackey", "--basic-counts=no", "--trace-superblocks=yes", "--vex-guest-chase=no",
          "--vex-iropt-unroll-thresh=0", f"--vex-guest-max-insns={MAX_INSNS}"]


class TraceError(Exception):
    """A trace that could not be taken or read."""


@dataclass(frozen=True)
class Block:
    """One basic block as valgrind runs it: its start address, bytes and instruction lengths."""

    start: int
    code: bytes
    lengths: tuple[int, ...]
    falls_through: bool          # ends without a control transfer (valgrind's limit, a request): next is start+size
    request: bool = False        # ends with a client request's magic sequence
    why: str = ""                # why its bytes are missing (a block outside the phase may lack them)

    @property
    def size(self) -> int:
        """Its length in bytes."""
        return len(self.code)


@dataclass
class PhaseTrace:
    """The blocks one phase ran, in order."""

    blocks: dict[int, Block]
    order: array = field(default_factory=lambda: array("Q"))
    mismatches: int = 0          # a fall-through block followed by a block not at its end (a decode disagreement)

    @property
    def instructions(self) -> int:
        """Instructions executed in the phase."""
        return sum(len(self.blocks[a].lengths) for a in self.order)

    def counts(self) -> dict[int, int]:
        """Times each block ran."""
        out: dict[int, int] = {}
        for a in self.order:
            out[a] = out.get(a, 0) + 1
        return out


def command(argv: list[str], log: str, valgrind: str = "valgrind") -> list[str]:
    """valgrind's lackey around argv, its block trace written to `log` (a FIFO, never a file of gigabytes)."""
    return [valgrind, *LACKEY, f"--log-file={log}", "--", *argv]


_ENDS = {"jmp", "call", "ret", "retf", "iret", "iretq", "syscall", "sysenter", "int", "int3", "ud2", "hlt",
         "loop", "loope", "loopne", "jrcxz", "jecxz", "ljmp", "lcall"}


def _ends_block(insn) -> bool:
    m = insn.mnemonic
    return m in _ENDS or (m.startswith("j") and m != "jmp") or m.startswith("rep")


def decode_block(start: int, code: bytes, md) -> Block:
    """The basic block valgrind makes at `start` from the bytes there (at most MAX_INSNS instructions)."""
    lengths, pos = [], 0
    while len(lengths) < MAX_INSNS:
        if code.startswith(MAGIC, pos):
            lengths += [4, 4, 4, 4, 3]
            return Block(start, code[:pos + len(MAGIC)], tuple(lengths), True, True)
        insn = next(md.disasm(code[pos:pos + 15], start + pos, 1), None)
        if insn is None:
            raise TraceError(f"no x86-64 instruction at {start + pos:#x} (block {start:#x})")
        lengths.append(insn.size)
        pos += insn.size
        if _ends_block(insn):
            return Block(start, code[:pos], tuple(lengths), False)
    return Block(start, code[:pos], tuple(lengths), True)


class _Memory:
    """The traced process's memory, read through /proc/PID/mem."""

    def __init__(self, pid: int):
        try:
            self.fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        except OSError as exc:
            raise TraceError(f"cannot read the traced process's memory (/proc/{pid}/mem): {exc.strerror}") from None

    def read(self, address: int, size: int = MAX_INSNS * 15) -> bytes:
        page_end = (address | 0xFFF) + 1
        for want in (size, page_end - address):     # the code may end before an unmapped page
            try:
                return os.pread(self.fd, want, address)
            except OSError:
                continue
        return b""


def read_stream(log, md=None) -> PhaseTrace:
    """The counted phase's blocks from lackey's log, a binary stream (its "==PID==" header names the process).

    Most of a run comes before the phase: chunks without a request are only checked for new blocks (set
    operations), so the reader keeps up with lackey. The part before the first request is never kept."""
    if md is None:
        import capstone
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    blocks: dict[bytes, Block] = {}           # keyed by the log's own token (b"SB 0401ab70")
    requests: set[bytes] = set()
    state = _State()
    carry = b""
    while chunk := log.read(1 << 16):
        tokens = (carry + chunk).split(b"\n")
        carry = tokens.pop()
        if state.memory is None:
            found = next((m for t in tokens if (m := re.match(rb"==(\d+)==", t))), None)
            state.memory = _Memory(int(found.group(1))) if found else None
        for token in set(tokens).difference(blocks):
            if token.startswith(b"SB "):
                blocks[token] = state.decode(int(token[3:], 16), md)
                if blocks[token].request:
                    requests.add(token)
        if not requests.isdisjoint(tokens):
            for token in tokens:
                if token in requests:
                    state.request(token)
                elif state.segment is not None and token.startswith(b"SB "):
                    state.segment.append(token)
                    state.since += 1
        elif state.segment is not None:
            state.segment.extend(t for t in tokens if t.startswith(b"SB "))
            state.since += len(tokens)
    if state.phase is None:
        raise TraceError("no counted phase in the trace (no toggle followed by a dump request)")
    missing = next((blocks[t].why for t in set(state.phase) if blocks[t].why), None)
    if missing:
        raise TraceError(f"a block of the phase could not be read: {missing}")
    order = array("Q", (blocks[t].start for t in state.phase))
    trace = PhaseTrace({blocks[t].start: blocks[t] for t in set(state.phase)}, order)
    trace.mismatches = _mismatches(trace)
    return trace


class _State:
    """Where the reader is: the segment since the last request, the one before it, the phase found so far."""

    def __init__(self):
        self.memory: _Memory | None = None
        self.segment: list[bytes] | None = None      # None until the first request
        self.pending: list[bytes] | None = None
        self.phase: list[bytes] | None = None
        self.since = 0

    def decode(self, address: int, md) -> Block:
        """The block at address, from the process's memory (gone already: a block without bytes, and why)."""
        if self.memory is None:
            raise TraceError("lackey's log named no process before its first block")
        try:
            return decode_block(address, self.memory.read(address), md)
        except TraceError as exc:
            return Block(address, b"", (), False, why=str(exc))

    def request(self, token: bytes) -> None:
        """A request's block ran: hwprof_end's toggle is followed closely by its dump, so the segment
        before the toggle's block (which ends it) is the phase."""
        if self.segment is not None:
            self.segment.append(token)
            self.since += 1
        if self.pending is not None and self.since <= DUMP_GAP:
            self.phase = self.pending if self.phase is None else self.phase + self.pending
        self.pending = None if self.segment is None else self.segment
        self.segment, self.since = [], 0


def _mismatches(trace: PhaseTrace) -> int:
    bad = 0
    for a, b in zip(trace.order, trace.order[1:]):
        block = trace.blocks[a]
        if block.falls_through and b != a + block.size:
            bad += 1
    return bad


def shrink_pipe(fd: int) -> None:
    """The smallest pipe buffer: it keeps the process at most a page of log ahead of the code reads, so a
    block first seen just before the process exits can still be read."""
    fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600.0,
        valgrind: str = "valgrind") -> PhaseTrace:
    """Run argv under lackey (the phase helper told to mark its counted phases) and trace that phase."""
    with tempfile.TemporaryDirectory(prefix="hwprof-trace-") as tmp:
        fifo = Path(tmp) / "lackey.log"
        os.mkfifo(fifo)
        proc = subprocess.Popen(command(argv, str(fifo), valgrind), env={**os.environ, **(env or {})},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            with open(fifo, "rb", buffering=0) as log:
                shrink_pipe(log.fileno())
                trace = read_stream(log)
        finally:
            timer.cancel()
            err = proc.communicate()[1]
        if proc.returncode != 0:
            why = (err.decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise TraceError(f"the traced process failed: {why}")
        return trace
