// The node helper of a serving worker (hwprof/serve/node.py): `node [the node target's flags] node_host.mjs`.
//
// Keeps compiled WebAssembly.Modules by key in this process's memory. Each request runs in a runner thread
// (worker_threads) on a fresh node:wasi and instance: argv only, no folders, no environment, stdin empty,
// stdout and stderr to the files the request names. Modules are shared with the runner by postMessage (V8
// shares the compiled code, so what was compiled, lazily or by tier-up, stays compiled for later requests).
// A request past its time limit has its runner terminated (V8 stops wasm code at its next loop or call
// check) and a new one is started: the modules, held here in the main thread, stay. Linear memory is capped
// in the module before it comes here (its memory maximum lowered): memory.grow past it returns -1.
//
// One JSON job a line on stdin, one JSON answer a line on stdout:
//   {"op": "compile", "key", "wasm"} -> {"bytes"}     {"op": "drop", "key"} -> {}     {"op": "ping"} -> {}
//   {"op": "run", "key", "argv", "stdout", "stderr", "timeout_s", "memory_limit"}
//     -> {"exit_code", "error", "phases": {"instantiate_s", "execute_s"}}
import fs from "node:fs";
import readline from "node:readline";
import { WASI } from "node:wasi";
import { Worker, isMainThread, parentPort } from "node:worker_threads";

const MIB = 2 ** 20;

function oneLine(err) {
  if (err instanceof WebAssembly.RuntimeError) return `wasm trap: ${err.message}`;
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split("\n")[0];
}

// As the wasmtime targets say it: a failure with linear memory within a MiB of the cap was a refused grow.
function memoryNote(instance, limit) {
  const memory = instance.exports.memory;
  if (!(memory instanceof WebAssembly.Memory)) return "";
  const size = memory.buffer.byteLength;
  return limit - MIB < size && size <= limit ? ` (memory limit: linear memory at ${size} of its ${limit} bytes)` : "";
}

// The runner thread: one request at a time, a fresh WASI and instance each.
function runOne({ module, argv, fds, memoryLimit }) {
  const out = { exit_code: null, error: null, phases: {} };
  const wasi = new WASI({
    version: "preview1", returnOnExit: true, args: argv, env: {}, preopens: {},
    stdin: fds.stdin, stdout: fds.stdout, stderr: fds.stderr,
  });
  // The bundled workloads' phase markers: nothing to mark here.
  const imports = { wasi_snapshot_preview1: wasi.wasiImport, bench: { start() {}, end() {} } };
  const t0 = performance.now();
  let instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (err) {
    out.error = oneLine(err);
    return out;
  }
  const t1 = performance.now();
  out.phases.instantiate_s = (t1 - t0) / 1e3;
  if (typeof instance.exports._start !== "function") {
    out.error = "the module exports no _start function (not a WASI command)";
    return out;
  }
  try {
    out.exit_code = wasi.start(instance);
    if (out.exit_code) out.error = `the function exited with status ${out.exit_code}`;
  } catch (err) {
    out.error = oneLine(err) + memoryNote(instance, memoryLimit);
  } finally {
    out.phases.execute_s = (performance.now() - t1) / 1e3;
  }
  return out;
}

const modules = new Map();
let runner = null;

// One request on the runner, stopped at its time limit. Resolves once the runner is done with the files.
function onRunner(job, message) {
  const thread = runner ?? (runner = new Worker(new URL(import.meta.url)));
  const posted = performance.now();
  return new Promise((resolve) => {
    const settle = (answer) => {
      clearTimeout(timer);
      thread.off("message", settle).off("error", failed).off("exit", failed);
      resolve(answer);
    };
    const failed = (err) => { // an error, or an exit code: the thread ended under the request
      runner = null;
      const why = err instanceof Error ? oneLine(err) : `it exited with ${err}`;
      settle({ exit_code: null, error: `the runner thread failed: ${why}`, phases: {} });
    };
    const timer = setTimeout(async () => {
      runner = null;
      thread.off("exit", failed);
      await thread.terminate();          // stopped before its files are closed: nothing writes into the next request's
      runner = new Worker(new URL(import.meta.url)); // starting now, not on the next request's clock
      // execute_s here also holds the instantiation: the runner was stopped before it could say how long that took.
      settle({ exit_code: null, phases: { execute_s: (performance.now() - posted) / 1e3 },
               error: `time limit: the function ran past ${job.timeout_s} s and was stopped` });
    }, job.timeout_s * 1e3);
    thread.on("message", settle).on("error", failed).on("exit", failed);
    thread.postMessage(message);
  });
}

async function run(job) {
  const module = modules.get(job.key);
  if (module === undefined) return { exit_code: null, error: `no module ${job.key} is compiled here`, phases: {} };
  const fds = { stdin: fs.openSync("/dev/null", "r"), stdout: fs.openSync(job.stdout, "w"),
                stderr: fs.openSync(job.stderr, "w") };
  try {
    return await onRunner(job, { module, argv: job.argv, fds, memoryLimit: job.memory_limit });
  } finally {
    for (const fd of Object.values(fds)) fs.closeSync(fd);
  }
}

async function answer(job) {
  if (job.op === "compile") {
    const bytes = fs.readFileSync(job.wasm);
    try {
      modules.set(job.key, await WebAssembly.compile(bytes));
    } catch (err) {
      return { error: oneLine(err) };
    }
    return { bytes: bytes.length };
  }
  if (job.op === "drop") {
    modules.delete(job.key);
    return {};
  }
  if (job.op === "ping") return {};
  return run(job);
}

async function main() {
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {}); // the worker stops us (stdin closes)
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    let reply;
    try {
      reply = await answer(JSON.parse(line));
    } catch (err) {
      reply = { exit_code: null, error: `the node helper failed: ${oneLine(err)}`, phases: {} };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
  process.exit(0); // stdin closed: the worker ended (a runner thread would keep us alive)
}

if (isMainThread) {
  await main();
} else {
  parentPort.on("message", (message) => parentPort.postMessage(runOne(message)));
}
