"""The one line a failed measured process gets: a crash that left no result file says how it ended."""

from __future__ import annotations

import pytest

from hwprof.measure import failure_line
from hwprof.runtimes import NO_REPORT, Outcome

pytestmark = pytest.mark.quick


def test_a_crash_without_a_report_says_the_signal_and_the_last_words():
    crashed = Outcome(ok=False, error=NO_REPORT)
    line = failure_line(crashed, -11, "Events enabled | /usr/bin/node: Segmentation fault", 60)
    assert line == f"{NO_REPORT} (killed by signal 11: Events enabled | /usr/bin/node: Segmentation fault)"
    # perf stat's launcher exits 0 when its child segfaults: then only the tail says what happened
    assert failure_line(crashed, 0, "/usr/bin/node: Segmentation fault", 60) == \
        f"{NO_REPORT} (/usr/bin/node: Segmentation fault)"
    assert failure_line(crashed, 0, "", 60) == NO_REPORT
    assert failure_line(crashed, None, "", 60).startswith("timed out after 60 s")


def test_a_reported_error_is_said_as_the_host_said_it():
    failed = Outcome(ok=False, stage="execute", error="wasm trap: unreachable")
    assert failure_line(failed, 2, "ignored", 60) == "execute failed: wasm trap: unreachable"
