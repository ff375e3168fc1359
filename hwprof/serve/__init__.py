"""`hwprof serve`: a long-lived host serving wasm functions over HTTP, with the artefacts a real host keeps.

config.py (settings, the functions file), targets.py (what each target keeps), worker.py (the worker
process: compile, fresh instance, limits), node.py and node_host.mjs (the node target's helper process),
wasmer.py and wasmer_host.py (the wasmer target's), child.py (a worker's helper process), pool.py (workers
and routing), cache.py (the memory budget and eviction), host.py (checking, policy, answers, the log),
metrics.py (Prometheus text), app.py (Starlette and uvicorn).
"""
