"""hwprof schedule: traces, profiles from a real store, policies, the simulated host worked by hand, Table II,
the command."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hwprof.collect import CollectConfig, collect
from hwprof.data.store import load_results
from hwprof.schedule import policies, profiles, simulate, table, trace
from hwprof.schedule.profiles import Part, Profile, Profiles
from hwprof.schedule.trace import Request
from hwprof.commands.schedule import schedule, schedule_trace

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
AZURE = DATA / "azure-synthetic-invocations.csv"
FOREVER = simulate.SimConfig(keep_alive_s=None)

app = typer.Typer(add_completion=False)
app.command()(schedule)
app.command("schedule-trace")(schedule_trace)


def prof(function, target, cold, warm, size="x", artefact_bytes=None) -> Profile:
    """A constructed profile: all of the cold time in compile, all of the warm time in execute."""
    return Profile(function, size, target,
                   {"bootstrap": Part(0.0), "compile": Part(cold), "instantiate": Part(0.0), "execute": Part(0.0)},
                   {"instantiate": Part(0.0), "execute": Part(warm)}, artefact_bytes)


def hand(*entries) -> Profiles:
    return Profiles({(p.function, p.size, p.target): p for p in entries}, "hand")


def reqs(*items) -> list[Request]:
    """(at_s, function) pairs as requests at size x."""
    return [Request(float(at), f, "x", i) for i, (at, f) in enumerate(items)]


def by_name(outcomes) -> dict:
    return {o.name: o for o in outcomes}


# ---- traces --------------------------------------------------------------------------------------------------

@pytest.mark.quick
@pytest.mark.parametrize("kind", list(trace.GENERATORS))
def test_generators_are_seeded_and_deterministic(kind):
    a, b, c = trace.generate(kind, 200, seed=3), trace.generate(kind, 200, seed=3), trace.generate(kind, 200, seed=4)
    assert a == b and a != c and len(a) == 200
    assert [r.id for r in a] == list(range(200))
    assert all(x.at_s <= y.at_s for x, y in zip(a, a[1:]))
    assert {(r.function, r.size) for r in a} <= set(trace.MIX)


def _cv(requests) -> float:
    gaps = [b.at_s - a.at_s for a, b in zip(requests, requests[1:])]
    return statistics.pstdev(gaps) / statistics.mean(gaps)


def _stale_share(requests, keep_alive_s=600.0) -> float:
    """The share of requests whose function and size was not asked for within the keep-alive before."""
    last, stale = {}, 0
    for r in requests:
        key = (r.function, r.size)
        stale += key not in last or r.at_s - last[key] > keep_alive_s
        last[key] = r.at_s
    return stale / len(requests)


@pytest.mark.quick
def test_generators_have_their_promised_shape():
    steady, bursty = trace.generate("steady", 300, 5), trace.generate("bursty", 300, 5)
    cold, mixed = trace.generate("cold-heavy", 300, 5), trace.generate("mixed", 300, 5)
    assert _cv(steady) < 0.2 < 1.0 < _cv(bursty)                   # even rhythm; bursts and long lulls
    assert 0.9 < _cv(mixed) < 1.1                                   # Poisson arrivals: CV near 1
    assert _stale_share(cold) > 0.5 > 0.05 > _stale_share(steady)   # most of cold-heavy finds nothing kept
    counts = {k: sum((r.function, r.size) == k for r in mixed) for k in trace.MIX}
    assert all(counts.values()) and max(counts.values()) > 4 * min(counts.values())   # every key, Zipf-skewed
    assert {r.function for r in mixed} == set(trace.EDGE_APPS) | {"matmul"}
    bursts = [r for r in bursty if r.at_s - bursty[max(0, r.id - 1)].at_s < 1.0]
    assert len(bursts) > 0.8 * len(bursty)


@pytest.mark.quick
def test_csv_round_trip_and_the_shipped_traces_are_the_generators(tmp_path):
    reqs_ = trace.generate("mixed", 50, 2)
    trace.write(tmp_path / "t.csv", reqs_)
    assert trace.read(tmp_path / "t.csv") == reqs_
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "at_s,function,size"
    for kind in trace.GENERATORS:
        shipped = trace.read(ROOT / "traces" / f"{kind}.csv")
        assert shipped == trace.generate(kind, 300, 14), kind


@pytest.mark.quick
@pytest.mark.parametrize("text, says", [
    ("time,function,size\n1,canny,default\n", ":1: not a trace"),
    ("at_s,function,size\n1,canny,default\nsoon,canny,default\n", ":3: at_s 'soon' is not a number"),
    ("at_s,function,size\n2,canny,default\n1,canny,default\n", ":3: at_s 1.0 is before"),
    ("at_s,function,size\n1,canny\n", ":2: expected at_s,function,size"),
    ("at_s,function,size\n", "has no requests"),
])
def test_csv_reader_says_where_a_trace_is_wrong(tmp_path, text, says):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(trace.TraceError, match=None) as err:
        trace.read(path)
    assert says in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.quick
def test_azure_reader_keeps_every_minutes_count():
    with AZURE.open() as f:
        rows = list(csv.reader(f))
    expected = {}
    for row in rows[1:]:
        for m, count in enumerate(row[4:], 1):
            if int(count):
                expected[m] = expected.get(m, 0) + int(count)
    got = trace.read_azure(AZURE, seed=7)
    assert trace.per_minute(got) == expected and len(got) == sum(expected.values())
    assert got == trace.read_azure(AZURE, seed=7) and got != trace.read_azure(AZURE, seed=8)
    # every Azure function becomes one of ours, the same one for all of its invocations
    assert len({(r.function, r.size) for r in got}) <= len(rows) - 1
    first = trace.read_azure(AZURE, seed=7, minutes=10)
    assert trace.per_minute(first) == {m: c for m, c in expected.items() if m <= 10}


@pytest.mark.quick
def test_azure_reader_refuses_another_format(tmp_path):
    bad = tmp_path / "azure-bad.csv"
    bad.write_text("HashOwner,HashApp,HashFunction,Trigger,1,2\na,b,c,http,1,2\n")
    with pytest.raises(trace.TraceError, match="not an Azure Functions 2019 invocation file"):
        trace.read_azure(bad)


# ---- the simulated host, worked by hand -----------------------------------------------------------------------

# A: fast to compile, slow to run; B: slow to compile, fast to run. f favours A over 3 requests, g favours B.
TWO = hand(prof("f", "A", 1.0, 0.5), prof("f", "B", 3.0, 0.4), prof("g", "A", 2.0, 1.0), prof("g", "B", 0.5, 0.2))
TWO_TRACE = reqs((0, "f"), (10, "g"), (20, "f"), (30, "g"), (40, "f"))


@pytest.mark.quick
def test_singles_hybrid_and_oracle_worked_by_hand():
    out = by_name(simulate.run(TWO_TRACE, TWO, config=FOREVER))
    # only:A: f 1.0 + 0.5 + 0.5, g 2.0 + 1.0; only:B: f 3.0 + 0.4 + 0.4, g 0.5 + 0.2
    assert out["only:A"].total_s == pytest.approx(5.0) and out["only:B"].total_s == pytest.approx(4.5)
    # the hybrid takes A for f (cold 1.0 < 3.0, then warm 0.5 < cold 3.0) and B for g: 2.0 + 0.7
    assert out["hybrid"].total_s == pytest.approx(2.7)
    assert [s.target for s in out["hybrid"].served] == ["A", "B", "A", "B", "A"]
    assert out["hybrid"].total_s <= min(out["only:A"].total_s, out["only:B"].total_s)
    assert out["oracle"].total_s <= out["hybrid"].total_s + 1e-12
    assert {n: o.cold_starts for n, o in out.items()} == {n: 2 for n in out} | {"pattern-hybrid": 2}
    assert out["online-hybrid"].total_s == pytest.approx(2.7)          # observed times equal the profile here


@pytest.mark.quick
def test_the_study_hybrid_sticks_where_the_oracle_and_background_compiles_do_not():
    hot = hand(prof("f", "A", 0.1, 1.0), prof("f", "B", 3.0, 0.1))
    ten = reqs(*[(10 * i, "f") for i in range(10)])
    out = by_name(simulate.run(ten, hot, config=FOREVER))
    assert out["only:A"].total_s == pytest.approx(0.1 + 9 * 1.0)
    assert out["only:B"].total_s == pytest.approx(3.0 + 9 * 0.1)
    assert out["hybrid"].total_s == pytest.approx(9.1)                 # warm A (1.0) always beats cold B (3.0)
    # the oracle knows f recurs: A cold while B compiles in the background from the first request (ready at
    # 3 s), then B warm; without a background compile its best would be B cold once (3.0 + 9 * 0.1 = 3.9)
    o = out["oracle"]
    assert o.total_s == pytest.approx(0.1 + 9 * 0.1) and o.background_compiles == 1
    assert [s.target for s in o.served][:2] == ["A", "B"] and o.cold_starts == 1
    assert policies.best_plan(policies.Setting(hot, ("A", "B"), tuple(ten)), ten)[0] == pytest.approx(3.9)
    # pattern-hybrid: A cold, A warm while B compiles in the background (3 s, done by the third request), then B
    p = out["pattern-hybrid"]
    assert p.total_s == pytest.approx(0.1 + 1.0 + 8 * 0.1) and p.background_compiles == 1
    assert [s.target for s in p.served][:3] == ["A", "A", "B"] and p.cold_starts == 1
    assert o.total_s < p.total_s < out["hybrid"].total_s             # it learns the pattern a request late
    assert p.evictions == 1 and out["hybrid"].evictions == 0          # A goes once B, which replaced it, is kept


@pytest.mark.quick
@pytest.mark.parametrize("budget, colds, memory", [(None, 2, 200), (200, 2, 200), (150, 4, 100), (50, 4, 0)])
def test_memory_budget_evicts_and_forces_recompiles(budget, colds, memory):
    sized = hand(prof("f", "A", 1.0, 0.1, artefact_bytes=100), prof("g", "A", 2.0, 0.2, artefact_bytes=100))
    alternating = reqs((0, "f"), (10, "g"), (20, "f"), (30, "g"))
    config = simulate.SimConfig(memory_budget=budget, keep_alive_s=None)
    o = simulate.replay(alternating, sized, policies.Single("A"), config)
    assert o.cold_starts == colds and o.memory_bytes == memory
    assert o.total_s == pytest.approx(3.0 + 0.3 if colds == 2 else 6.0)
    assert o.evictions == {None: 0, 200: 0, 150: 3, 50: 0}[budget]


@pytest.mark.quick
def test_the_least_recently_used_artefact_goes_first():
    three = hand(*(prof(f, "A", 1.0, 0.1, artefact_bytes=100) for f in "fgh"))
    order = reqs((0, "f"), (10, "g"), (20, "f"), (30, "h"), (40, "f"), (50, "g"))
    o = simulate.replay(order, three, policies.Single("A"), simulate.SimConfig(memory_budget=200, keep_alive_s=None))
    # h's arrival pushes out g (f was used since), so f stays warm and g comes back cold
    assert [s.cold for s in o.served] == [True, True, False, True, False, True] and o.evictions == 2


@pytest.mark.quick
def test_keep_alive_drops_an_idle_artefact_and_the_oracle_allows_for_it():
    one = hand(prof("f", "A", 1.0, 0.1), prof("f", "B", 0.5, 0.4))
    spaced = reqs((0, "f"), (10, "f"), (20, "f"))
    short = by_name(simulate.run(spaced, one, config=simulate.SimConfig(keep_alive_s=5.0)))
    assert short["only:A"].cold_starts == 3 and short["only:A"].total_s == pytest.approx(3.0)
    long = by_name(simulate.run(spaced, one, config=simulate.SimConfig(keep_alive_s=20.0)))
    assert long["only:A"].cold_starts == 1 and long["only:A"].total_s == pytest.approx(1.2)
    # the simulated host keeps what a policy asks it to: the oracle, B cold while A compiles aside, then warm A
    for out in (short, long):
        assert out["oracle"].total_s == pytest.approx(0.5 + 0.1 + 0.1) and out["oracle"].background_compiles == 1
    # a host that keeps only by its own keep-alive (a live hwprof serve): with the short one, A compiled aside
    # would have gone (at 1 s) before f came back (10 s), and so would anything else: B cold every time
    def best(keep):
        setting = policies.Setting(one, ("A", "B"), tuple(spaced), keep, keeps_asked=False)
        return min(policies.best_plan(setting, spaced, b)[0] for b in (None, "A", "B"))

    assert best(5.0) == pytest.approx(1.5) and best(20.0) == pytest.approx(0.7)


@pytest.mark.quick
def test_sizes_of_one_module_share_its_artefact():
    # matmul takes its size as an argument: one module (one compile) serves every size, as in hwprof serve;
    # canny builds its input into the module: each size is a module of its own
    assert profiles.module_of("matmul", "30") == profiles.module_of("matmul", "300") == "matmul"
    assert profiles.module_of("canny", "mini") != profiles.module_of("canny", "default")
    sweep = hand(*(prof("matmul", "A", 1.0, w, size=n) for n, w in (("30", 0.01), ("300", 0.5))),
                 *(prof("canny", "A", 2.0, 0.2, size=n) for n in ("mini", "default")))
    order = [Request(0.0, "matmul", "30", 0), Request(1.0, "matmul", "300", 1),
             Request(2.0, "canny", "mini", 2), Request(5.0, "canny", "default", 3)]
    o = simulate.replay(order, sweep, policies.Single("A"), FOREVER)
    assert [s.cold for s in o.served] == [True, False, True, True]
    assert o.total_s == pytest.approx(1.0 + 0.5 + 2.0 + 2.0)


@pytest.mark.quick
def test_queueing_delay_counts_in_latency_and_workers_share_the_queue():
    one = hand(prof("f", "A", 1.0, 0.1))
    both = reqs((0, "f"), (0, "f"))
    alone = simulate.replay(both, one, policies.Single("A"), FOREVER)
    assert [s.latency_s for s in alone.served] == pytest.approx([1.0, 1.1])   # the second waits, then runs warm
    pair = simulate.replay(both, one, policies.Single("A"), simulate.SimConfig(workers=2, keep_alive_s=None))
    assert [s.latency_s for s in pair.served] == pytest.approx([1.0, 1.0]) and pair.cold_starts == 2


# ---- policies and Table II -----------------------------------------------------------------------------------

@pytest.mark.quick
def test_every_policy_keeps_the_protocol():
    setting = policies.Setting(TWO, ("A", "B"), tuple(TWO_TRACE))
    host = simulate.Host(TWO, FOREVER)
    made = [policies.make(n, setting) for n in policies.names(("A", "B"))]
    assert [p.name for p in made] == ["only:A", "only:B", "hybrid", "online-hybrid", "pattern-hybrid", "oracle"]
    for p in made:
        assert p.kind in policies.KINDS
        assert p.choose(TWO_TRACE[0], host) in ("A", "B")
        assert p.observe(TWO_TRACE[0], "A", 1.0, True) is None
    with pytest.raises(policies.PolicyError, match="unknown policy 'fastest'.*only:A, only:B, hybrid"):
        policies.make("fastest", setting)
    for o in simulate.run(TWO_TRACE, TWO, config=FOREVER):
        assert o.decision_ns > 0                                       # measured, whatever its size


@pytest.mark.quick
def test_table_ii_is_the_per_application_mean_of_speedups():
    rows = {r["name"]: r for r in table.rows(simulate.run(TWO_TRACE, TWO, config=FOREVER))}
    hybrid = rows["hybrid"]
    # per application: vs A, f 2.0/2.0 and g 3.0/0.7; vs B, f 3.8/2.0 and g 0.7/0.7; each the mean of two
    assert hybrid["speedup_vs"] == pytest.approx({"A": (1 + 3.0 / 0.7) / 2, "B": (3.8 / 2.0 + 1) / 2})
    assert hybrid["speedup_total_vs"] == pytest.approx({"A": 5.0 / 2.7, "B": 4.5 / 2.7})
    assert rows["only:A"]["speedup_vs"]["A"] == 1.0
    assert rows["only:B"]["regret_s"] == pytest.approx(4.5 - rows["oracle"]["total_s"])
    assert rows["oracle"]["regret_s"] == 0.0
    assert {r["kind"] for r in rows.values()} == {"single", "hybrid", "oracle"}
    lines = table.text(list(rows.values())).splitlines()
    assert lines[0].startswith("Table II") and "vs A" in lines[1] and "vs B" in lines[1]
    hybrid_line = next(line for line in lines if line.startswith("hybrid "))
    assert f"{(1 + 3.0 / 0.7) / 2:.3g}" in hybrid_line and "1.45" in hybrid_line
    md = table.markdown(list(rows.values()))
    assert "| policy | kind | vs A | vs B |" in md
    parsed = list(csv.DictReader(table.csv(list(rows.values())).splitlines()))
    assert float(next(r for r in parsed if r["policy"] == "hybrid")["vs B"]) == pytest.approx(1.45)


# ---- the command ---------------------------------------------------------------------------------------------

@pytest.mark.quick
def test_schedule_trace_writes_the_shipped_trace(tmp_path):
    done = CliRunner().invoke(app, ["schedule-trace", "bursty", "--seed", "14", "-o", str(tmp_path / "b.csv")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "b.csv").read_text() == (ROOT / "traces" / "bursty.csv").read_text()
    bad = CliRunner().invoke(app, ["schedule-trace", "spiky", "-o", str(tmp_path / "s.csv")])
    assert bad.exit_code == 2 and "unknown trace kind 'spiky'" in bad.output


@pytest.mark.quick
def test_a_bad_trace_file_is_one_line(tmp_path):
    (tmp_path / "t.csv").write_text("at_s,function,size\nlater,canny,default\n")
    done = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(tmp_path / "none")])
    assert done.exit_code == 2
    assert done.output.strip() == f"hwprof: error: {tmp_path / 't.csv'}:2: at_s 'later' is not a number"


# ---- profiles from a real store (the real runtimes; a minute or so) ------------------------------------------

REAL = (("attitude", "small"), ("matmul", "30"))
REAL_TARGETS = ("wasmtime", "wasmtime-pulley")


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> Path:
    """2 workloads x 2 targets, 2 cold runs and 2 warm processes of 3 invocations each, every phase counted."""
    root = tmp_path_factory.mktemp("schedule") / "store"
    for workload, size in REAL:
        for target in REAL_TARGETS:
            base = dict(size=size, warmup=0, results=root, events=("task_clock",))
            collect(CollectConfig(workload, target, repetitions=2, **base))
            collect(CollectConfig(workload, target, repetitions=2, mode="warm", invocations=3, **base))
    return root


def test_profiles_are_the_raw_rows_means(real_store):
    frame = load_results(real_store)
    walls = frame[(frame["name"] == "wall_time") & (frame["status"] == "ok")]
    got = profiles.load(real_store)
    assert set(got.entries) == {(w, s, t) for w, s in REAL for t in REAL_TARGETS}
    for (w, s, t), p in got.entries.items():
        mine = walls[(walls["workload"] == w) & (walls["size"] == s) & (walls["runtime"] == t)]
        cold, warm = mine[mine["invocation"] == "cold"], mine[mine["invocation"] == "warm"]
        assert set(p.cold) == {"bootstrap", "compile", "instantiate", "execute"} and p.warm_from == "warm"
        for phase, part in p.cold.items():
            values = cold[cold["phase"] == phase]["value"]
            assert part.n == len(values) == 2 and part.mean == pytest.approx(values.mean(), rel=1e-12)
            assert part.low <= part.mean <= part.high
        for phase, part in p.warm.items():
            values = warm[warm["phase"] == phase]["value"]
            assert len(values) == 6 and part.n == 2                    # 2 processes x 3 invocations
            assert part.mean == pytest.approx(values.mean(), rel=1e-12)
        assert p.cold_s == pytest.approx(sum(cold[cold["phase"] == ph]["value"].mean() for ph in p.cold), rel=1e-12)
        assert p.artefact_bytes is None                                # no codegen rows in this store


def test_schedule_json_from_a_real_store(real_store, tmp_path):
    requests = [Request(5.0 * i, *REAL[i % 2], i) for i in range(12)]
    trace.write(tmp_path / "t.csv", requests)
    done = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(real_store), "--json",
                                    "--csv", str(tmp_path / "t2.csv"), "--markdown", str(tmp_path / "t2.md")])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)
    assert [r["name"] for r in rows] == [f"only:{t}" for t in REAL_TARGETS] + list(policies.REGISTRY)
    keys = {"name", "kind", "total_s", "p50_s", "p99_s", "cold_starts", "speedup_vs", "mean_s", "memory_bytes",
            "decision_ns", "regret_s"}
    for r in rows:
        assert keys <= set(r) and r["kind"] in policies.KINDS and set(r["speedup_vs"]) == set(REAL_TARGETS)
        assert r["cold_starts"] >= 2                                   # two functions, each compiled at least once
    assert (tmp_path / "t2.md").read_text().startswith("Table II")
    assert len((tmp_path / "t2.csv").read_text().splitlines()) == len(rows) + 1


def test_a_function_without_a_profile_is_one_line(real_store, tmp_path):
    trace.write(tmp_path / "t.csv", [Request(0.0, "attitude", "small", 0), Request(1.0, "canny", "default", 1)])
    done = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(real_store)])
    assert done.exit_code == 2 and len(done.output.strip().splitlines()) == 1
    assert "the trace names canny[default]" in done.output and "profiled: attitude[small], matmul[30]" in done.output
    only = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(real_store),
                                    "--policy", "only:node"])
    assert only.exit_code == 2 and "hwprof: error:" in only.output


@pytest.mark.quick
def test_a_persistent_host_never_pays_a_process_start_up():
    from hwprof.schedule.profiles import Part, Profile, Profiles, ProfileError, for_host

    cold = {"bootstrap": Part(0.5), "compile": Part(0.2), "instantiate": Part(0.01), "execute": Part(0.1)}
    warm = {"instantiate": Part(0.01), "execute": Part(0.1)}
    profiles = Profiles({("f", "mini", "t"): Profile("f", "mini", "t", cold, warm)}, "hand")
    persistent, process = for_host(profiles, "persistent"), for_host(profiles, "process")
    assert persistent.get("f", "mini", "t").cold_s == pytest.approx(0.31)     # compile + instantiate + execute
    assert persistent.get("f", "mini", "t").make_s == pytest.approx(0.2)      # a background compile: the compile
    assert process.get("f", "mini", "t").cold_s == pytest.approx(0.81)        # the study's process per request
    assert persistent.get("f", "mini", "t").warm_s == process.get("f", "mini", "t").warm_s == pytest.approx(0.11)
    with pytest.raises(ProfileError, match="unknown host model 'vm'"):
        for_host(profiles, "vm")


def test_a_kept_replay_gives_report_table_ii_and_the_latency_figure(real_store, tmp_path):
    from hwprof.report.build import build_report

    import shutil

    requests = [Request(5.0 * i, *REAL[i % 2], i) for i in range(12)]
    trace.write(tmp_path / "t.csv", requests)
    shutil.copytree(real_store, tmp_path / "kept")           # the replay kept beside the profiles it read
    done = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(real_store), "--json",
                                    "--results", str(tmp_path / "kept")])
    assert done.exit_code == 0, done.output
    printed = {r["name"]: r for r in json.loads(done.output)}
    out = build_report(tmp_path / "kept", tmp_path / "report", ["table2"])
    section = out.sections[0]
    assert not section.missing and section.provenance.startswith("machine ")
    # the stored rows give back exactly what the command printed, policy by policy
    for name, r in printed.items():
        mine = section.table[section.table["policy"] == name]
        assert set(mine["versus"]) == set(REAL_TARGETS)
        for k in ("total_s", "p50_s", "p99_s", "memory_bytes", "decision_ns"):
            assert mine[k].iloc[0] == pytest.approx(r[k], rel=1e-9), (name, k)
        assert mine["cold_starts"].iloc[0] == r["cold_starts"]
        for t in REAL_TARGETS:
            assert mine[mine["versus"] == t]["speedup"].iloc[0] == pytest.approx(r["speedup_vs"][t], rel=1e-9)
    assert (section.table["replay"].str.startswith("t.csv, simulated, persistent host")).all()
    boxes = [trace_ for trace_ in section.figure.data if trace_.type == "box"]
    assert [b.x[0] for b in boxes] == list(printed) and all(len(b.y) == len(requests) for b in boxes)
    assert (tmp_path / "report" / "table2.csv").exists()
    # nothing of a replay is a measured wall time: the profiles of the store it is kept in are unchanged
    assert profiles.load(tmp_path / "kept").entries == profiles.load(real_store).entries
    bad = CliRunner().invoke(app, ["schedule", str(tmp_path / "t.csv"), "--profiles", str(real_store),
                                   "--results", "/proc/version/kept"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


def test_an_ahead_of_time_targets_cold_cost_includes_making_its_artefact(tmp_path):
    # wasmtime-aot's run only loads the artefact `wasmtime compile` made in another process (aot_compile): a host
    # that finds none has to make it, so the profile's cold time and background compile both include that work
    collect(CollectConfig("matmul", "wasmtime-aot", size="30", repetitions=1, warmup=0, results=tmp_path,
                          events=("task_clock",)))
    p = profiles.load(tmp_path).get("matmul", "30", "wasmtime-aot")
    walls = load_results(tmp_path)
    aot = walls[(walls["name"] == "wall_time") & (walls["phase"] == "aot_compile")]["value"]
    assert len(aot) == 1 and p.cold["aot_compile"].mean == pytest.approx(aot.iloc[0])
    assert p.make_s >= p.cold["aot_compile"].mean + p.cold["compile"].mean - 1e-12
    assert p.cold_s == pytest.approx(sum(part.mean for part in p.cold.values()))
