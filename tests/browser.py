"""Loading an hwprof report page in Debian's headless Chromium and listing what is wrong with it."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PlotCensus(HTMLParser):
    """Per plot div of a dumped DOM: its data-* marks and, counted here, its SVG traces and drawn data marks."""

    def __init__(self):
        super().__init__()
        self.plots, self.status, self._depth, self._open = [], {}, 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if a.get("id") == "hwprof-status":
            self.status = a
        if tag not in VOID:
            self._depth += 1
        if tag == "div" and "plotly-graph-div" in classes and self._open is None:
            self._open = self._depth
            self.plots.append({**a, "svg_traces": 0, "svg_marks": 0})
        elif self._open is not None:
            if tag == "g" and "trace" in classes:
                self.plots[-1]["svg_traces"] += 1
            if tag == "path" and ({"point", "js-line"} & set(classes) or self._in_point) and len(a.get("d") or "") > 4:
                self.plots[-1]["svg_marks"] += 1
            self._in_point = tag == "g" and "point" in classes

    _in_point = False

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self._open is not None and self._depth == self._open:
            self._open = None
        self._depth -= 1


def open_in_chromium(page: Path, profile: Path) -> dict:
    """Load a page in headless Chromium; return its status marks, plot census and console errors."""
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                           "--dump-dom", "--virtual-time-budget=15000", "--enable-logging=stderr", "--v=0",
                           page.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert "hwprof-status" in proc.stdout, f"chromium dumped no page (exit {proc.returncode}): {proc.stderr[-500:]}"
    census = PlotCensus()
    census.feed(proc.stdout)
    uncaught = [line for line in proc.stderr.splitlines() if "Uncaught" in line]
    return {"status": census.status, "plots": census.plots, "uncaught": uncaught}


def problems(seen: dict) -> list[str]:
    """Everything wrong with a loaded page: JS errors (either channel), plots not drawn or drawn without data."""
    out = [f"console: {line}" for line in seen["uncaught"]]
    if seen["status"].get("data-state") != "ok":
        out.append(f"page state {seen['status'].get('data-state')}: errors={seen['status'].get('data-errors')}")
    for i, p in enumerate(seen["plots"]):
        if p.get("data-rendered") != "yes" or p["svg_traces"] == 0 or p["svg_marks"] == 0:
            out.append(f"plot {i}: rendered={p.get('data-rendered')} svg traces={p['svg_traces']} "
                       f"marks={p['svg_marks']}")
    return out


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh installs it)")


