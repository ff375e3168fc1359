// The process hwprof.codegen.v8 reads V8's code from: `node [flags] v8_host.mjs compile|run MODULE [ARGS...]`.
//
// compile: WebAssembly.compile only, as node_host.mjs's compile phase (eager tiers compile every function).
// run: compile, instantiate with node:wasi (the given arguments, no environment, no preopened folder, stdin
// empty, the module's output to files here) and run _start once, so that V8's lazy default tiering compiles
// what the module calls and tiers up what gets hot. The bench imports do nothing; other missing function
// imports trap when called. Writes host.json: the stage reached (compile, run) and any error, in one line.
import fs from "node:fs";
import { WASI } from "node:wasi";

const [mode, wasmPath, ...args] = process.argv.slice(2);
const report = { mode, stage: "compile", exit_code: null, error: null };

function oneLine(err) {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split("\n")[0];
}

function imports(module, wasi) {
  const given = { wasi_snapshot_preview1: wasi.wasiImport, bench: { start() {}, end() {} } };
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== "function" || given[from]?.[name] !== undefined) continue;
    given[from] ??= {};
    given[from][name] = () => {
      throw new WebAssembly.RuntimeError(`unknown import ${from}::${name} has not been defined`);
    };
  }
  return given;
}

async function run(module) {
  const wasi = new WASI({
    version: "preview1", returnOnExit: true, args: ["module.wasm", ...args], env: {}, preopens: {},
    stdin: fs.openSync("/dev/null", "r"), stdout: fs.openSync("stdout.txt", "w"),
    stderr: fs.openSync("stderr.txt", "w"),
  });
  const instance = await WebAssembly.instantiate(module, imports(module, wasi));
  if (typeof instance.exports._start !== "function") {
    report.error = "the module exports no _start function to run";
    return;
  }
  report.exit_code = wasi.start(instance);
}

try {
  const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
  report.stage = mode;
  if (mode === "run") await run(module);
} catch (err) {
  report.error = oneLine(err);
}
fs.writeFileSync("host.json", JSON.stringify(report));
