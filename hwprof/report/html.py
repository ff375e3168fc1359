"""One self-contained HTML page of report sections: plotly.js inline once, provenance, and a render check.

The page keeps its own score for a headless browser to read from the DOM: a script that runs before any
other records uncaught errors, and each plot, once drawn, is marked with how many traces and data marks
its SVG holds. `#hwprof-status` then says ok, error, empty or pending.
"""

from __future__ import annotations

import html
import time

from hwprof.analysis.table import fmt
from hwprof.report.section import Section

# First script on the page: error recording must be in place before plotly.js or any plot runs.
RECORDER = """<script>
window.hwprofErrors = [];
window.onerror = function (message, source, line, column) {
  window.hwprofErrors.push(String(message) + " at " + (source || "page").slice(0, 80) + ":" + line + ":" + column);
  window.hwprofUpdate();
  return false;
};
window.addEventListener("unhandledrejection", function (event) {
  window.hwprofErrors.push("unhandled promise rejection: " + String(event.reason));
  window.hwprofUpdate();
});
window.hwprofMarks = function (div) {
  var n = 0;
  div.querySelectorAll("g.trace .point, g.trace path.js-line").forEach(function (el) {
    var path = el.tagName.toLowerCase() === "path" ? el : el.querySelector("path");
    var d = path ? (path.getAttribute("d") || "") : "";
    if (d.length > 4 && d !== "M0,0Z") n++;
  });
  return n;
};
window.hwprofPoints = function (div) {
  var n = 0;
  (div._fullData || []).forEach(function (trace) {
    if (trace.visible === false) return;
    Array.prototype.forEach.call(trace.y || [], function (v) {
      if (v !== null && v !== "" && isFinite(v)) n++;
    });
  });
  return n;
};
window.hwprofPlotted = function (id) {
  var div = document.getElementById(id);
  var traces = div.querySelectorAll("g.trace").length, marks = window.hwprofMarks(div);
  var points = window.hwprofPoints(div);
  div.setAttribute("data-traces", traces);
  div.setAttribute("data-marks", marks);
  div.setAttribute("data-points", points);
  div.setAttribute("data-rendered", traces > 0 && marks > 0 && points > 0 ? "yes" : "empty");
  window.hwprofUpdate();
};
window.hwprofUpdate = function () {
  var status = document.getElementById("hwprof-status");
  if (!status) return;
  var plots = document.querySelectorAll(".plotly-graph-div");
  var rendered = document.querySelectorAll('.plotly-graph-div[data-rendered="yes"]').length;
  var empty = document.querySelectorAll('.plotly-graph-div[data-rendered="empty"]').length;
  var errors = window.hwprofErrors;
  status.setAttribute("data-errors", errors.length);
  status.setAttribute("data-plots", plots.length);
  status.setAttribute("data-rendered", rendered);
  status.setAttribute("data-state", errors.length ? "error" : empty ? "empty" :
                      rendered === plots.length ? "ok" : "pending");
  status.textContent = errors.length ? "JavaScript errors: " + errors.join(" | ") :
    rendered + " of " + plots.length + " plots drawn" + (empty ? ", " + empty + " without data" : "");
};
</script>"""

FINISH = """<script>
window.hwprofUpdate();
window.addEventListener("load", window.hwprofUpdate);
</script>"""

STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
.provenance { color: #555; font-size: 0.9em; }
.missing { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.6em; }
table.dataframe { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 2em; }
table.dataframe td, table.dataframe th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
#hwprof-status { font-size: 0.8em; color: #777; }
</style>"""


def plot_html(figure, first: bool) -> str:
    """A figure's div and script; plotly.js itself is inlined with the first one only."""
    return figure.to_html(full_html=False, include_plotlyjs=bool(first),
                          post_script="window.hwprofPlotted('{plot_id}');",
                          config={"displaylogo": False, "responsive": True})


def section_html(section: Section, first_plot: bool) -> str:
    """One section: its heading, provenance, what is missing, the plot, notes and the table."""
    esc = html.escape
    parts = [f'<section id="{esc(section.name)}">', f"<h2>{esc(section.title)}</h2>"]
    if section.missing:
        parts.append(f'<p class="missing">{esc(section.missing)}</p>')
    else:
        parts.append(f'<p class="provenance">From: {esc(section.provenance)}</p>')
        if section.figure is not None:
            parts.append(plot_html(section.figure, first_plot))
        if section.notes:
            parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in section.notes) + "</ul>")
        parts.append(section.view.to_html(index=False, na_rep="-", float_format=fmt, border=0))
    parts.append("</section>")
    return "\n".join(parts)


def render(sections: list[Section], provenance: str, source: str = "", title: str = "hwprof report") -> str:
    """The whole page as one string: recorder first, provenance header, every section, then the final check."""
    esc = html.escape
    body, plotted = [], False
    for s in sections:
        body.append(section_html(s, first_plot=not plotted))
        plotted = plotted or (s.figure is not None and not s.missing)
    contents = "".join(f'<li><a href="#{esc(s.name)}">{esc(s.title)}</a>{" (missing)" if s.missing else ""}</li>'
                       for s in sections)
    header = (f"<header><h1>{esc(title)}</h1>"
              f'<p class="provenance">Results {esc(source)}; generated {time.strftime("%Y-%m-%d %H:%M:%S %Z")}</p>'
              f'<p class="provenance">From: {esc(provenance)}</p>'
              f'<div id="hwprof-status" data-state="pending"></div><ul>{contents}</ul></header>')
    return "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', RECORDER,
                      f"<title>{esc(title)}</title>", STYLE, "</head><body>", header, *body, FINISH,
                      "</body></html>"]) + "\n"
