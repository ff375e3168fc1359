"""Machine code each compiler made of the same wasm: extraction from real artefacts, disassembly, metrics.

`artefacts` reads what a compiler produced (a Wasmtime serialized module is an ELF whose symbols bound each
compiled function); `metrics` disassembles it with capstone (x86-64 and AArch64) and counts what the study's
Section III-B reads off Cranelift's code. The command, the other targets (V8's jitdump, wasm2c's objects,
native ELF) and the report section build on these two (issue 13).
"""
