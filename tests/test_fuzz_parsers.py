"""Every parser of outside input, fed arbitrary bytes and near-valid text (hypothesis): it answers, or raises
its own one-line error, never another exception and never a traceback through the CLI."""

from __future__ import annotations

import json
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwprof import events
from hwprof.backends.perf import parse_stat_csv
from hwprof.backends.vtune import parse_hw_events_csv
from hwprof.campaign.spec import SpecError, parse
from hwprof.data.store import StoreError, read_run
from hwprof.events import EventMapError
from hwprof.gem5.stats import StatsError
from hwprof.gem5.stats import parse as parse_stats
from hwprof.runtimes import RuntimeTargetError, command_line
from hwprof.workloads import module

DATA = Path(__file__).parent / "data"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=string.printable + "éµ\x00", max_size=400)


def _one_line(exc: Exception) -> None:
    assert str(exc) and "\n" not in str(exc).strip(), repr(exc)


def _mutations(seed: str) -> st.SearchStrategy[str]:
    """The seed with a slice cut out, a slice repeated or random text spliced in."""
    n = len(seed)
    return st.tuples(st.integers(0, n), st.integers(0, n), TEXT).map(
        lambda t: seed[:min(t[0], t[1])] + t[2] + seed[max(t[0], t[1]):])


PERF_SEED = (DATA / "perf-stat-vm-nopmu.csv").read_text()
VTUNE_SEED = "Hardware Event Type,Hardware Event Count:Self,Hardware Event Sample Count:Self\nINST_RETIRED.ANY,123,4\n"
STATS_SEED = (DATA / "gem5" / "stats-v24-se-o3-documented-format.txt").read_text()[:3000]
SPEC_SEED = (Path(__file__).parents[1] / "campaigns" / "quick.toml").read_text()
MAP_SEED = (Path(__file__).parents[1] / "events" / "skylake.toml").read_text()[-1500:]
TARGET_SEED = (Path(__file__).parents[1] / "targets" / "wasmtime-cli.toml").read_text()


@FUZZ
@given(st.one_of(TEXT, _mutations(PERF_SEED)))
def test_perf_csv(text):
    for row in parse_stat_csv(text):
        assert row["status"] in ("ok", "not_supported", "not_counted")
        assert (row["value"] is None) == (row["status"] != "ok")


@FUZZ
@given(st.one_of(TEXT, _mutations(VTUNE_SEED)))
def test_vtune_csv(text):
    for name, value in parse_hw_events_csv(text).items():
        assert isinstance(name, str) and (value is None or isinstance(value, float))


@FUZZ
@given(st.one_of(TEXT, _mutations(STATS_SEED)))
def test_gem5_stats(text):
    try:
        blocks = parse_stats(text)
    except StatsError as exc:
        _one_line(exc)
        return
    assert all(isinstance(v, float) for b in blocks for v in b.values())


@FUZZ
@given(st.one_of(TEXT, _mutations(SPEC_SEED)))
def test_campaign_specs(text):
    try:
        parse(text, "fuzz.toml")
    except SpecError as exc:
        _one_line(exc)


@FUZZ
@given(st.one_of(TEXT, _mutations(MAP_SEED)))
def test_event_maps(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("maps")
    (folder / "intel-core.toml").write_text((Path(__file__).parents[1] / "events" / "intel-core.toml").read_text())
    (folder / "generic.toml").write_text((Path(__file__).parents[1] / "events" / "generic.toml").read_text())
    path = folder / "fuzz.toml"
    path.write_text(text)
    try:
        events.load(str(path), folder)
    except EventMapError as exc:
        _one_line(exc)
    for problem in events.lint(folder, [path]):
        _one_line(Exception(problem))


@FUZZ
@given(st.one_of(TEXT, _mutations(TARGET_SEED)))
def test_target_files(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("targets") / "fuzz.toml"
    path.write_text(text)
    try:
        command_line.validate(path)
    except RuntimeTargetError as exc:
        _one_line(exc)


RUN_SEED = json.dumps({"format_version": 4, "run_id": "r", "provenance": {"machine": "m"},
                       "records": [{"runtime": "wasmtime", "runtime_version": "1", "runtime_flags": "", "workload": "w",
                                    "size": "s", "invocation": "cold", "repetition": 0, "phase": "execute",
                                    "name": "wall_time", "kind": "time", "value": 1.0, "unit": "s"}]})


@FUZZ
@given(st.one_of(TEXT, _mutations(RUN_SEED)))
def test_run_files(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("runs") / "r.json"
    path.write_text(text)
    try:
        read_run(path)
    except StoreError as exc:
        _one_line(exc)


WASM_SEED = bytes.fromhex("0061736d01000000") + bytes.fromhex("010501600001 7f".replace(" ", "")) + \
    bytes.fromhex("0302010007070103666f6f0000") + bytes.fromhex("0a0601040041010b")


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.tuples(st.integers(0, len(WASM_SEED)), st.binary(max_size=40)).map(
    lambda t: WASM_SEED[:t[0]] + t[1] + WASM_SEED[t[0]:])))
def test_wasm_modules(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("wasm") / "m.wasm"
    path.write_bytes(data)
    try:
        info = module.read(path)
    except module.ModuleError as exc:
        _one_line(exc)
        return
    assert isinstance(info.exports, dict)


def test_the_wasm_seed_is_a_real_module():
    import wasmtime

    assert module.read_bytes(WASM_SEED).signatures == {"foo": module.FuncType((), ("i32",))}
    wasmtime.Module.validate(wasmtime.Engine(), WASM_SEED)


# Valid TOML with values of the wrong type where a map or a target file expects another: the inputs random
# text almost never reaches.
_VALUES = st.one_of(st.integers(-3, 3), st.booleans(), st.text(string.ascii_letters + "_.(){}+*/ ", max_size=12),
                    st.lists(st.one_of(st.integers(0, 3), st.text(string.ascii_letters, max_size=6)), max_size=3))


def _toml_value(v) -> str:
    return json.dumps(v) if not isinstance(v, bool) else ("true" if v else "false")


@st.composite
def _typed_toml(draw, keys, tables):
    lines = [f"{k} = {_toml_value(draw(_VALUES))}" for k in draw(st.lists(st.sampled_from(keys), unique=True))]
    for table in draw(st.lists(st.sampled_from(tables), max_size=3)):
        lines.append(f"[{table}]" if not table.startswith("[") else f"[{table}]")
        lines += [f"{k} = {_toml_value(draw(_VALUES))}" for k in draw(
            st.lists(st.sampled_from(["name", "formula", "encoding", "raw", "x86", "arm", "kind", "perf", "ipc"]),
                     unique=True, max_size=4))]
    return "\n".join(lines) + "\n"


MAP_KEYS = ["name", "title", "extends", "abstract", "pmu", "gp_counters", "perf_table", "sources", "match",
            "event", "metric", "unavailable"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_typed_toml(MAP_KEYS, ["match", "unavailable", "[event]", "[metric]"]))
def test_event_maps_with_wrong_types(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("typed") / "typed.toml"
    path.write_text(text)
    try:
        events.load(str(path))
    except EventMapError as exc:
        _one_line(exc)
    for problem in events.lint(paths=[path]):
        _one_line(Exception(problem))


TARGET_KEYS = ["name", "title", "command", "version", "install", "flags", "prepare", "python_package",
               "confines_links"]


@FUZZ
@given(_typed_toml(TARGET_KEYS, ["inputs", "features"]))
def test_target_files_with_wrong_types(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("typed-targets") / "typed.toml"
    path.write_text(text)
    try:
        command_line.validate(path)
    except RuntimeTargetError as exc:
        _one_line(exc)
