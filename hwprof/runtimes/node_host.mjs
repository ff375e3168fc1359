// The measured process for the node targets: `node [flags] node_host.mjs JOB.json`.
//
// Phase edges go through hwprof's phase-control helper, loaded as a Node-API addon (napi_phasectl.c), so
// perf control, callgrind client requests and VTune calls run in C inside this process. compile is
// WebAssembly.compile, instantiate is WebAssembly.instantiate, execute is wasi.start (or the module's
// bench.start..bench.end, which are the addon's C functions given to the module as its imports).
// Warm mode: one compile, then N instantiate + execute, each in a fresh WASI and instance.
import fs from "node:fs";
import path from "node:path";
import { WASI } from "node:wasi";

const PAGE = 65536;
const ERRNO_PERM = 63; // WASI preview 1: operation not permitted

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
// The helper's phase numbers: the index in hwprof/data/phases.py's MARKED, which the job carries.
const PHASE_NAMES = job.phases;
const PHASE = Object.fromEntries(PHASE_NAMES.map((name, i) => [name, i]));
const addon = { exports: {} };
process.dlopen(addon, job.addon);
const pc = addon.exports;
if (!pc.dieWithParent()) process.exit(4); // the backend died before we could follow it: nobody would end us
pc.init();
pc.end(PHASE.bootstrap);

const result = {
  stage: "bootstrap", exit_code: null, error: null, boundary: "entry-call",
  node_version: process.version, v8_version: process.versions.v8, exec_argv: process.execArgv,
};

function cpuList(text) {
  const cpus = [];
  for (const part of text.trim().split(",")) {
    const [lo, hi] = part.split("-").map(Number);
    for (let c = lo; c <= (hi ?? lo); c++) cpus.push(c);
  }
  return cpus;
}

function allowed(statusPath) {
  const line = fs.readFileSync(statusPath, "utf8").split("\n").find((l) => l.startsWith("Cpus_allowed_list:"));
  return line ? line.split(":")[1].trim() : "";
}

// Every thread's CPUs (V8's platform workers and libuv's pool included): the collector pinned the process.
function affinityReport() {
  const threads = {};
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      threads[tid] = allowed(`/proc/self/task/${tid}/status`);
    } catch {
      // the thread ended while we looked
    }
  }
  return { affinity: cpuList(allowed("/proc/self/status")), threads };
}

function finish(code) {
  const flat = pc.marks();
  const marks = [];
  for (let i = 0; i < flat.length; i += 2) {
    const c = flat[i];
    marks.push(`[${JSON.stringify(PHASE_NAMES[c >> 1])},"${c & 1 ? "end" : "begin"}",${flat[i + 1]}]`);
  }
  Object.assign(result, affinityReport());
  // Marks are CLOCK_MONOTONIC nanoseconds (BigInt): written as JSON integers, never rounded through a double.
  const text = JSON.stringify({ ...result, marks: "@MARKS@" }).replace('"@MARKS@"', `[${marks.join(",")}]`);
  fs.writeFileSync(job.result, text);
  process.exitCode = code;
}

function oneLine(err) {
  if (err instanceof WebAssembly.RuntimeError) return `wasm trap: ${err.message}`;
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split("\n")[0];
}

async function phase(name, work) {
  result.stage = name;
  pc.begin(PHASE[name]);
  try {
    return await work();
  } finally {
    pc.end(PHASE[name]);
  }
}

// The cap is V8's --wasm-max-mem-pages: memory.grow past it returns -1, and the module decides what follows.
// Node cannot tell a refused grow apart, so a failure with memory within an eighth of the cap says so.
function memoryNote(instance) {
  const memory = instance?.exports?.memory;
  if (!(memory instanceof WebAssembly.Memory) || !job.memory_limit) return "";
  const bytes = memory.buffer.byteLength;
  if (bytes + Math.max(PAGE, job.memory_limit / 8) <= job.memory_limit) return "";
  const mib = (n) => `${+(n / 2 ** 20).toFixed(2)} MiB`;
  return ` (linear memory is ${mib(bytes)}, near the memory limit of ${mib(job.memory_limit)}: memory.grow fails past it)`;
}

// Imports nobody defines, as functions that trap when called (--unknown-imports trap). Anything but a
// function cannot be made up: instantiation then fails and says which.
function trapStubs(module, imports) {
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== "function" || imports[from]?.[name] !== undefined) continue;
    imports[from] ??= {};
    imports[from][name] = () => {
      throw new WebAssembly.RuntimeError(`unknown import ${from}::${name} has not been defined`);
    };
  }
  return imports;
}

// Arguments come as the controller's canonical text: decimal integers, Python's float repr (inf, -inf, nan).
const SPECIAL = { inf: Infinity, "-inf": -Infinity, nan: NaN };
function argument([kind, text]) {
  if (kind === "i64") return BigInt(text);
  return text in SPECIAL ? SPECIAL[text] : Number(text);
}

// One invocation: a fresh WASI and instance, then _start (or the --invoke export). Returns an exit code
// to stop with, or null.
async function invoke(module, markers, io) {
  const wasi = new WASI({
    version: "preview1", returnOnExit: true, env: Object.fromEntries(job.env ?? []),
    args: [path.basename(job.wasm), ...job.args],
    preopens: Object.fromEntries(job.dirs.map(([host, guest]) => [guest, host])),
    stdin: io.stdin, stdout: io.stdout, stderr: io.stderr,
  });
  // hwprof's sandbox rule: no symbolic link may be made in a preopened folder (Node's WASI would follow it
  // anywhere); the controller refuses folders that already hold one leading out.
  const wasiImport = { ...wasi.wasiImport, path_symlink: () => ERRNO_PERM };
  let imports = { wasi_snapshot_preview1: wasiImport, bench: { start: pc.benchStart, end: pc.benchEnd } };
  if (job.unknown_imports === "trap") imports = trapStubs(module, imports);
  const exportName = job.invoke || "_start";
  const instance = await phase("instantiate", async () => {
    const made = await WebAssembly.instantiate(module, imports);
    // node:wasi binds its memory in start() or initialize(); an invoked export of a command module gets a
    // view of the instance without _start so initialize() accepts it (it runs _initialize when present).
    if (job.invoke && made.exports.memory instanceof WebAssembly.Memory) {
      wasi.initialize({ exports: { memory: made.exports.memory, _initialize: made.exports._initialize } });
    } else if (job.invoke && typeof made.exports._initialize === "function") {
      made.exports._initialize(); // a module with no WASI memory: its own set-up only
    }
    return made;
  });
  if (job.stop_after === "instantiate") return null;
  const entry = instance.exports[exportName];
  if (typeof entry !== "function") {
    result.error = job.invoke ? `the module exports no function ${JSON.stringify(exportName)}`
      : "the module exports no _start function (not a WASI command; --invoke calls another export)";
    return 3;
  }
  result.stage = "execute";
  if (!markers) pc.begin(PHASE.execute);
  let returned;
  try {
    if (job.invoke) {
      returned = entry(...(job.invoke_args ?? []).map(argument));
      result.exit_code = 0;
    } else {
      result.exit_code = wasi.start(instance);
    }
  } catch (err) {
    result.error = oneLine(err) + memoryNote(instance);
    result.error_detail = String(err?.stack ?? err);
    return 2;
  } finally {
    if (!markers) pc.end(PHASE.execute);
  }
  if (job.invoke) {
    const values = returned === undefined ? [] : Array.isArray(returned) ? returned : [returned];
    (result.invoke_results ??= []).push(values.map(String));   // the controller writes them canonically
  }
  const note = result.exit_code ? memoryNote(instance) : "";
  if (note) result.error = `the module exited with status ${result.exit_code}${note}`;
  return result.exit_code ? 0 : null;
}

async function main() {
  if (job.stop_after === "bootstrap") {
    result.stage = "done"; // a pass that counts start-up only: compiling would be wasted work
    return finish(0);
  }
  const bytes = fs.readFileSync(job.wasm);
  let module;
  try {
    module = await phase("compile", () => WebAssembly.compile(bytes));
  } catch (err) {
    result.error = oneLine(err);
    return finish(2);
  }
  if (job.stop_after === "compile") {
    result.stage = "done";
    return finish(0);
  }
  const bench = WebAssembly.Module.imports(module).filter((i) => i.module === "bench").map((i) => i.name);
  const markers = bench.includes("start") && bench.includes("end");
  if (markers) result.boundary = "markers";
  const io = {
    stdin: fs.openSync(job.stdin || "/dev/null", "r"), stdout: fs.openSync(job.stdout, "w"),
    stderr: fs.openSync(job.stderr, "w"),
  };
  const runs = job.mode === "warm" ? job.invocations : 1;
  for (let i = 0; i < runs; i++) {
    let code;
    try {
      code = await invoke(module, markers, io);
    } catch (err) {
      result.error = oneLine(err); // instantiation failed (a missing import, memory beyond the limit)
      return finish(2);
    }
    if (code !== null) return finish(code);
  }
  result.stage = "done";
  return finish(0);
}

await main();
