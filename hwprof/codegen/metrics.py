"""Code metrics of compiled functions, from capstone's disassembly (x86-64 and AArch64): static or dynamic.

Each metric is one count over a function's instructions; METRICS says what each counts, in one line.
count() gives the static counts; weighted() weighs each instruction by how often it ran (dynamic counts).
A metric is None, never 0, where it does not apply: another ISA's notion (ONLY_ON), a count that needs a
Context count() was not given (NEEDS_CONTEXT), a ratio of nothing, or a static-only metric in weighted()
(STATIC_ONLY). `applies(metric, arch, context)` says which, so a caller can tell "none found" from "not asked".
"""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.codegen import metrics_flow as flow
from hwprof.codegen import metrics_x86 as x86
from hwprof.codegen.artefacts import Artefact, Function
from hwprof.codegen.disasm import Instruction, disassemble, gpr
from hwprof.codegen.metrics_x86 import ALU, BYTE_REGS_NEEDING_REX, meaningless_rex  # noqa: F401 (kept names)

__all__ = ["METRICS", "ONLY_ON", "NEEDS_CONTEXT", "STATIC_ONLY", "Context", "Instruction", "applies", "count",
           "crosses_or_ends", "disassemble", "function_metrics", "marks", "meaningless_rex", "setcc_sequences",
           "weighted", "windows"]

METRICS = {
    "instructions": "instructions decoded",
    "code_bytes": "bytes of machine code (dynamic: bytes of the instructions executed)",
    "bytes_per_instruction": "code_bytes / instructions",
    "register_moves": "copies of one general-purpose register to another (x86 mov r,r and xchg r,r; AArch64 mov): "
                      "moves to or from the stack pointer (frame set-up and tear-down: mov rbp, rsp; mov rsp, rbp; "
                      "mov x29, sp), a register moved to itself (see zero_extensions), extensions such as "
                      "movzx/movsxd and moves from the zero register apart",
    "redundant_moves": "register moves whose destination already holds the source's value within a straight-line "
                       "run: a move to itself, the second of mov a,b; mov b,a, a copy moved back unchanged (the "
                       "study's 'register abuse')",
    "zero_extensions": "32-bit moves of a register to itself (x86 mov r32, r32 such as mov ecx, ecx; AArch64 mov wN, "
                       "wN), which clear its upper half",
    "loads": "instructions that read memory (lea and long nops excluded; pop included)",
    "stores": "instructions that write memory (push included; call's return address not)",
    "spills": "moves of a register to a stack slot (base rsp/rbp; sp/x29), callee-saved saves included, push "
              "and AArch64's x29/x30 frame record apart",
    "reloads": "moves of a stack slot (base rsp/rbp; sp/x29) into a register, pop and the x29/x30 frame record apart",
    "alu_memory_operand": "x86 ALU ops or compares (add, sub, and, or, xor, cmp, test, adc, sbb, imul) taking a "
                          "memory operand directly, compares of the stack pointer (stack_checks) apart (the study's "
                          "'indirect memory address' done right)",
    "stack_checks": "compares of the stack pointer with memory or another register: stack-limit checks (x86 cmp "
                    "rsp, [limit] as V8 does, cmp r, rsp as Cranelift and Winch do after loading the limit; "
                    "AArch64 cmp sp, xN)",
    "load_then_alu": "x86 loads mov r, [m] whose value the next instruction, an ALU op or compare without a memory "
                     "operand, reads once at the load's width as a source only (not its destination), r dead "
                     "after it: written before read in the listing's order, control flow ignored, or never read "
                     "again (a call reads every register, a return rax) (the study's 'indirect memory address')",
    "branches": "jumps, conditional or not (calls and returns apart)",
    "conditional_branches": "conditional jumps",
    "calls": "calls (to other functions or runtime helpers), calls at a Context's trap addresses (out-of-line trap "
             "landing pads) apart",
    "indirect_calls": "calls through a register or memory (target unknown to the listing)",
    "runtime_calls": "direct calls to a target outside the module's wasm functions (runtime helpers, libcalls); "
                     "needs a Context",
    "trap_instructions": "instructions that trap by design: x86 ud2, AArch64 brk/udf, and calls at a Context's trap "
                         "addresses (out-of-line code calling a trap builtin, as V8's landing pads)",
    "trap_branches": "conditional branches to a trap (bounds, division, stack-limit and conversion checks)",
    "trap_sites": "instructions the compiler lists as able to trap (Wasmtime's trap table: heap accesses a guard "
                  "page catches, divisions, trap instructions; V8's protected instructions); needs a Context from "
                  "such a compiler",
    "rex_prefixes": "x86 instructions carrying a REX prefix",
    "meaningless_rex": "x86 REX prefixes that change nothing: 0x40 (no W, R, X or B bit) with no spl/bpl/sil/dil",
    "setcc_branch_sequences": "x86 jccs whose flags were set from a value a setcc made in a register, followed "
                              "through its 64-bit register: movzx/movsx copy it; and r, 1, test r, r, test r, imm "
                              "and cmp r, 0 set the flags from it; instructions touching neither its registers nor, "
                              "once it is tested, the flags are stepped over; no other jump, call or return "
                              "between; one per jcc, "
                              "however many setcc reach it (the study's 'inappropriate instruction choice')",
    "uops": "estimated x86 fused-domain uops on Skylake with macro-fusion (uops.toml)",
    "windows_32": "distinct 32-byte code windows the function's bytes touch (static only)",
    "windows_64": "distinct 64-byte code windows the function's bytes touch (static only)",
    "jcc_erratum_jumps": "jumps, calls and returns (a macro-fused pair whole) that cross or end on a 32-byte "
                         "boundary (Skylake's JCC erratum keeps their window out of the uop cache)",
}
X86_ONLY = ("alu_memory_operand", "load_then_alu", "rex_prefixes", "meaningless_rex", "setcc_branch_sequences",
            "uops", "jcc_erratum_jumps")
ONLY_ON = {name: frozenset({"x86_64"}) for name in X86_ONLY}     # metric -> the ISAs it applies to
NEEDS_CONTEXT = frozenset({"runtime_calls", "trap_sites"})
STATIC_ONLY = frozenset({"windows_32", "windows_64"})            # a footprint: weighing it by executions means nothing


@dataclass(frozen=True)
class Context:
    """What count() may know of the module around the code: its own wasm functions' ranges, known trap addresses."""

    # [start, end) addresses of the module's compiled wasm functions; None where call targets are not known
    wasm_functions: tuple[tuple[int, int], ...] | None = ()
    traps: frozenset[int] = frozenset()                # addresses known to trap beyond the listing's trap instructions
    trap_sites: frozenset[int] | None = None           # every address the compiler lists as able to trap; None: no list

    @classmethod
    def of(cls, artefact: Artefact, traps: frozenset[int] = frozenset()) -> Context:
        """The context of an artefact's wasm functions (addresses as function_metrics disassembles them), with the
        compiler's own trap list where it keeps one."""
        sites = frozenset(a for f in artefact.functions for a, _ in f.traps) if artefact.trap_table else None
        ranges = tuple((f.address, f.address + len(f.code)) for f in artefact.wasm_functions())
        pads = frozenset(a for f in artefact.functions for a in f.trap_pads)
        return cls(ranges if artefact.calls_resolved else None, frozenset(traps) | pads, sites)


def applies(metric: str, arch: str, context: Context | None = None) -> bool:
    """The metric means something for this ISA and is computable with this context (else count() gives None)."""
    if metric == "trap_sites":
        return context is not None and context.trap_sites is not None
    if metric == "runtime_calls":
        return context is not None and context.wasm_functions is not None
    return arch in ONLY_ON.get(metric, {arch}) and (metric not in NEEDS_CONTEXT or context is not None)


def count(instructions: list[Instruction], arch: str, context: Context | None = None) -> dict[str, float | None]:
    """Every metric of METRICS over one sequence of instructions (a function, or a module's functions joined)."""
    out = {name: None if m is None else sum(m) for name, m in marks(instructions, arch, context).items()}
    out["windows_32"], out["windows_64"] = windows(instructions, 32), windows(instructions, 64)
    return _ordered(out)


def weighted(instructions: list[Instruction], executions: dict[int, int], arch: str,
             context: Context | None = None) -> dict[str, float | None]:
    """Every metric weighted by how often each instruction ran (address -> executions); STATIC_ONLY ones None."""
    runs = [executions.get(i.address, 0) for i in instructions]
    out = {name: None if m is None else sum(w * n for w, n in zip(m, runs))
           for name, m in marks(instructions, arch, context).items()}
    out["windows_32"] = out["windows_64"] = None
    return _ordered(out)


def _ordered(out: dict) -> dict[str, float | None]:
    n = out["instructions"]
    out["bytes_per_instruction"] = out["code_bytes"] / n if n else None
    return {name: out[name] for name in METRICS}


def marks(instructions: list[Instruction], arch: str, context: Context | None = None) -> dict[str, list[int] | None]:
    """Each countable metric as one number per instruction (None where it does not apply): what count() sums."""
    ones = lambda test: [int(bool(test(i))) for i in instructions]      # noqa: E731
    traps = context.traps if context else frozenset()
    out = {
        "instructions": [1] * len(instructions),
        "code_bytes": [i.size for i in instructions],
        "register_moves": ones(lambda i: register_move(i, arch)),
        "redundant_moves": flow.redundant_moves(instructions, arch),
        "zero_extensions": flow.zero_extensions(instructions, arch),
        "loads": ones(lambda i: i.reads_memory),
        "stores": ones(lambda i: i.writes_memory),
        "spills": flow.spills(instructions, arch),
        "reloads": flow.reloads(instructions, arch),
        "branches": ones(lambda i: i.jump),
        "conditional_branches": ones(lambda i: flow.conditional(i, arch)),
        "stack_checks": flow.stack_checks(instructions, arch),
        "calls": flow.calls(instructions, traps),
        "indirect_calls": ones(lambda i: i.call and i.target is None),
        "runtime_calls": flow.outside_calls(instructions, context.wasm_functions)
        if context and context.wasm_functions is not None else None,
        "trap_instructions": flow.trap_instructions(instructions, arch, traps),
        "trap_branches": flow.trap_branches(instructions, arch, traps),
        "trap_sites": ones(lambda i: i.address in context.trap_sites)
        if context and context.trap_sites is not None else None,
    }
    if arch == "x86_64":
        out |= {"alu_memory_operand": x86.alu_memory(instructions),
               "load_then_alu": x86.load_then_alu(instructions),
               "rex_prefixes": ones(lambda i: i.rex),
               "meaningless_rex": ones(meaningless_rex),
               "setcc_branch_sequences": x86.setcc_chains(instructions),
               "uops": x86.uops(instructions),
               "jcc_erratum_jumps": x86.jcc_erratum(instructions)}
    return {name: out.get(name) if applies(name, arch, context) else None
            for name in METRICS if name not in STATIC_ONLY | {"bytes_per_instruction"}}


def register_move(i: Instruction, arch: str) -> bool:
    """A copy of one general-purpose register to another (mov or xchg between two GPRs): zero registers, a
    register moved to itself and moves to or from the stack pointer (frame set-up and tear-down) apart."""
    if i.mnemonic not in ("mov", "xchg") or len(i.register_operands) != 2 or i.memory_operand:
        return False
    d, s = (gpr(r, arch) for r in i.register_operands)
    return bool(d and s) and d != s and flow.STACK_POINTER[arch] not in (d, s)


def setcc_sequences(instructions: list[Instruction]) -> int:
    """The jccs that branch on a value a setcc made (setcc_branch_sequences: metrics_x86.setcc_chains)."""
    return sum(x86.setcc_chains(instructions))


def windows(instructions: list[Instruction], size: int) -> int:
    """Distinct aligned windows of `size` bytes that any instruction's bytes fall in."""
    touched = set()
    for i in instructions:
        touched.update(range(i.address // size, (i.address + i.size - 1) // size + 1))
    return len(touched)


def crosses_or_ends(i: Instruction, boundary: int) -> bool:
    """The instruction spans a `boundary`-byte line or its last byte is the line's last (ends on the boundary)."""
    last = i.address + i.size - 1
    return i.address // boundary != last // boundary or (last + 1) % boundary == 0


def function_metrics(function: Function, arch: str, context: Context | None = None) -> dict[str, float | None]:
    """The metrics of one compiled function (addresses as in the artefact, so windows are the real ones)."""
    return count(disassemble(function.code, arch, function.address), arch, context)
