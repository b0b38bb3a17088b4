"""The UI's HTML: one function per page, each value escaped with `e` (``html.escape``).

Pages are server-rendered HTML with an inline stylesheet. Charts, the overlay picker,
the runs tree, the sweep views and live refresh are plain JavaScript in
``static/autolog-ui.js`` (with uPlot), served by this server: no inline script runs (the
CSP forbids it), data reaches the scripts as escaped ``data-*`` attributes or
``<script type="application/json">`` blocks (`json_block`). Nothing is loaded from
elsewhere. Handlers in `autolog.ui.server` gather the data and call these functions;
nothing here reads the store.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from autolog.ui.edits import NOTE_TAG, STAGES
from autolog.ui.sweeps import headline_metric


def _asset_version() -> str:
    """A digest of the shipped scripts: a new version gets new URLs, never a stale cache."""
    digest = hashlib.sha1()
    static = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
    for name in ("autolog-ui.js", "uPlot.iife.min.js", "uPlot.min.css"):
        try:
            with open(os.path.join(static, name), "rb") as handle:
                digest.update(handle.read())
        except OSError:
            pass
    return digest.hexdigest()[:10]


ASSET_VERSION = _asset_version()

STYLE = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg2:#f6f8fa; --accent:#0969da;
        --diff:#fff3c4; --err:#ffebe9; --errline:#ff8182; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial,
       sans-serif; color: var(--fg); margin: 0; background: #fff; }
header { background: #24292f; color: #fff; padding: 10px 24px; display: flex; gap: 18px;
         align-items: baseline; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
header .crumbs a, header .crumbs span { font-weight: 400; color: #d0d7de; }
header .crumbs a:hover { color: #fff; text-decoration: underline; }
main { padding: 16px 24px 40px; max-width: 1500px; }
h1 { font-size: 22px; margin: 6px 0 14px; word-break: break-all; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left;
         vertical-align: top; max-width: 520px; overflow-wrap: break-word; }
table.runs td { white-space: nowrap; max-width: 320px; overflow: hidden;
                text-overflow: ellipsis; }
.scroll { overflow-x: auto; max-width: 100%; }
th { background: var(--bg2); font-weight: 600; white-space: nowrap; }
th a { color: var(--fg); }
tbody tr:nth-child(even) td { background: #fbfcfd; }
tbody tr:hover td { background: #eef4fb; }
tr.diff td, tr.diff th { background: var(--diff) !important; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kv th { width: 1%; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
              font-size: 12.5px; }
.muted { color: var(--muted); }
.status { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px;
          font-weight: 600; background: #eaeef2; }
.status-FINISHED { background: #dafbe1; color: #116329; }
.status-RUNNING { background: #ddf4ff; color: #0550ae; }
.status-FAILED { background: #ffebe9; color: #a40e26; }
.status-KILLED { background: #fff1e5; color: #953800; }
.error { background: var(--err); border: 1px solid var(--errline); padding: 8px 12px;
         border-radius: 6px; margin: 8px 0; white-space: pre-wrap; }
.note { background: var(--bg2); border: 1px solid var(--line); padding: 6px 10px;
        border-radius: 6px; margin: 8px 0; }
form.filter { display: flex; gap: 8px; margin: 4px 0 10px; flex-wrap: wrap; }
form.filter input[type=text] { flex: 1; min-width: 320px; padding: 5px 8px;
        border: 1px solid var(--line); border-radius: 6px; font-family: ui-monospace,
        SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
button, .button { padding: 5px 12px; border: 1px solid var(--line); border-radius: 6px;
        background: var(--bg2); cursor: pointer; font-size: 13px; color: var(--fg); }
button.primary { background: #1f883d; color: #fff; border-color: #1a7f37; }
.pager { display: flex; gap: 14px; align-items: center; margin: 8px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
.chart-box { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px;
             width: 520px; }
.chart-box.small { width: 420px; }
.chart-box.large { width: auto; flex: 1; min-width: 600px; }
.chart-head { display: flex; gap: 10px; align-items: baseline; font-size: 13px; }
.chart-head b { word-break: break-all; }
.chart-head .open { margin-left: auto; white-space: nowrap; }
.lchart { min-height: 200px; }
.lchart .u-legend { font-size: 12px; text-align: left; }
.lchart .u-legend th { background: none; font-weight: 400; border: none; }
.lchart .u-legend td { border: none; }
.lchart .u-legend .u-series > * { padding: 1px 4px; }
.metric-layout { display: flex; gap: 16px; align-items: flex-start; }
.picker { border: 1px solid var(--line); border-radius: 6px; padding: 8px; width: 300px;
          flex: none; }
.picker-head { display: flex; gap: 8px; align-items: center; margin-bottom: 6px; }
.picker-filter, .column-filter { flex: 1; padding: 3px 6px; border: 1px solid var(--line);
          border-radius: 6px; }
.picker-list { max-height: 560px; overflow-y: auto; }
.picker-list label { display: block; white-space: nowrap; overflow: hidden;
          text-overflow: ellipsis; padding: 1px 0; }
.chart-controls { flex-wrap: wrap; font-size: 13px; }
table.runs th.pin, table.runs td.pin { position: sticky; background: #fff; z-index: 1; }
table.runs thead th.pin { background: var(--bg2); z-index: 2; }
table.runs .pin0 { left: 0; width: 40px; min-width: 40px; max-width: 40px; padding: 4px 0;
                   text-align: center; }
table.runs td.name { max-width: 460px; }
table.runs .pin1 { left: 40px; box-shadow: 2px 0 0 var(--line); min-width: 180px; }
table.runs th.group { text-align: center; }
table.runs th.group.params, table.runs th.param { color: #6639ba; }
table.runs th.group.metrics, table.runs th.metric { color: #0550ae; }
table.runs th.param a, table.runs th.metric a { color: inherit; }
table.runs tr[data-depth="1"] td, table.runs tr[data-depth="2"] td { background: #fafbfc; }
button.toggle { border: none; background: none; padding: 0 4px; width: 20px; cursor: pointer;
                font-size: 12px; }
.toggle-space { display: inline-block; width: 20px; }
.children { font-size: 12px; }
.headline { font-size: 12px; background: #ddf4ff; border-radius: 10px; padding: 0 6px; }
.sweep-link { font-size: 12px; }
details.columns { margin: 6px 0; }
details.columns summary { cursor: pointer; }
.column-chooser fieldset { border: 1px solid var(--line); border-radius: 6px;
          max-height: 260px; overflow-y: auto; min-width: 260px; }
.column-chooser label { display: block; white-space: nowrap; }
.column-chooser .cols { margin: 8px 0; }
#artifact-preview { flex: 1; min-width: 400px; max-width: 900px; border: 1px solid var(--line);
                    border-radius: 6px; padding: 4px 12px; }
#artifacts tr.selected td { background: #ddf4ff; }
.run-note { white-space: pre-wrap; background: #fff8c5; border: 1px solid #d4a72c;
            border-radius: 6px; padding: 6px 10px; margin: 6px 0; max-width: 900px; }
form.edit-note textarea { width: 100%; max-width: 900px; display: block; }
form.edit-tag, form.edit-alias, form.edit-stage { display: flex; gap: 6px; margin: 8px 0; }
#saved-views a { margin-right: 8px; font-size: 13px; }
details.system-tags summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
.sweep-chart { border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
.sweep-chart svg text { font-size: 11px; fill: #1f2328; }
.sweep-chart polyline.dim { stroke: #d0d7de; stroke-opacity: 0.35; }
.sweep-chart polyline.run-line:hover { stroke-width: 3.5; }
.sweep-chart svg .axis line, .sweep-chart svg .axis path { stroke: #8c959f; }
table.importance .barcell { width: 200px; }
.sweep-side { max-width: 560px; }
.cbar { display: inline-block; height: 8px; background: #54aeff; border-radius: 2px;
        margin-right: 8px; vertical-align: middle; }
.cbar.neg { background: #ff8182; }
.bar { display: inline-block; height: 10px; border-radius: 2px; }
.bar.pos { background: #2da44e; } .bar.neg { background: #cf222e; }
.alias { background: #ddf4ff; color: #0550ae; border-radius: 10px; padding: 0 7px;
         font-size: 12px; margin-right: 3px; }
.stage { border-radius: 10px; padding: 0 7px; font-size: 12px; background: #eaeef2; }
.stage-Production { background: #dafbe1; color: #116329; }
.stage-Staging { background: #fff8c5; color: #7d4e00; }
.stage-Archived { background: #eaeef2; color: #656d76; }
header nav.top a { font-weight: 400; color: #d0d7de; margin-right: 10px; }
table.csv td { white-space: nowrap; }
pre.preview { background: var(--bg2); border: 1px solid var(--line); padding: 10px;
              max-height: 600px; overflow: auto; font-size: 12.5px; white-space: pre-wrap; }
.gallery { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0; }
img.thumb { max-width: 260px; max-height: 200px; border: 1px solid var(--line);
            border-radius: 4px; background: #fff; }
img.preview { max-width: 100%; max-height: 640px; border: 1px solid var(--line); }
.tree td.path { white-space: nowrap; }
.cols { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
.toolbar { display: flex; gap: 12px; align-items: center; margin: 6px 0; }
"""

# -- helpers ----------------------------------------------------------------------------


def e(value: Any) -> str:
    """Escape any value for HTML text or a double-quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def href(path: str, **query: Any) -> str:
    """A URL (already escaped for an attribute): ``path`` plus non-empty query values."""
    items = [(k, v) for k, v in query.items() if v not in (None, "", [], ())]
    url = path + ("?" + urlencode(items, doseq=True) if items else "")
    return e(url)


def seg(value: str) -> str:
    """One URL path segment (a run id, an experiment id, a metric key)."""
    return quote(str(value), safe="")


def path_url(value: str) -> str:
    """A '/'-separated path (an artifact path) for a URL."""
    return quote(str(value), safe="/")


def fmt_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def fmt_time(ms: int | None) -> str:
    if not ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def fmt_duration(start_ms: int | None, end_ms: int | None, status: str = "") -> str:
    if not start_ms:
        return ""
    if not end_ms:
        return "running" if status in ("", "RUNNING") else ""
    seconds = max(end_ms - start_ms, 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(size)


def status_badge(status: str) -> str:
    return f'<span class="status status-{e(status)}">{e(status)}</span>'


def run_label(run: Any) -> str:
    return run.info.run_name or run.info.run_id[:8]


def kv_table(items: Iterable[tuple[str, Any]], empty: str = "none", cls: str = "kv") -> str:
    rows = [f"<tr><th>{e(k)}</th><td>{e(fmt_number(v))}</td></tr>" for k, v in items]
    if not rows:
        return f'<p class="muted">{e(empty)}</p>'
    return f'<table class="{e(cls)}"><tbody>{"".join(rows)}</tbody></table>'


def layout(
    title: str,
    body: str,
    crumbs: Sequence[tuple[str, str | None]] = (),
    poll: str | None = None,
    version: str | None = None,
) -> str:
    """The page frame. ``crumbs``: (label, url or None). ``poll``: a JSON URL to watch
    (a RUNNING run: the script refreshes charts and values when its version changes)."""
    trail = " / ".join(
        f'<a href="{e(url)}">{e(label)}</a>' if url else f"<span>{e(label)}</span>"
        for label, url in crumbs
    )
    body_attrs = ""
    if poll:
        body_attrs = f' data-poll="{e(poll)}" data-version="{e(version or "")}"'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · autolog</title>"
        f'<link rel="stylesheet" href="/static/uPlot.min.css?v={ASSET_VERSION}">'
        f"<style>{STYLE}</style>"
        f'<script src="/static/uPlot.iife.min.js?v={ASSET_VERSION}" defer></script>'
        f'<script src="/static/autolog-ui.js?v={ASSET_VERSION}" defer></script></head>'
        f'<body{body_attrs}><header><a href="/">autolog</a>'
        '<nav class="top"><a href="/">Experiments</a> <a href="/models">Models</a></nav>'
        f'<nav class="crumbs">{trail}</nav></header><main>{body}</main>'
        "</body></html>"
    )


def json_block(element_id: str, value: Any) -> str:
    """Data for the page's script: a JSON block the browser never runs. ``<``, ``>`` and
    ``&`` are escaped inside the JSON strings, so no value can close the element."""
    text = json.dumps(value, allow_nan=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{e(element_id)}">{text}</script>'


def chart_spec(
    title: str,
    pairs: Sequence[tuple[Any, str]],
    *,
    x: str = "step",
    link: str | None = None,
    small: bool = False,
    large: bool = False,
) -> str:
    """A placeholder the script turns into an interactive chart of (run, metric key) pairs:
    one colour per run, one dash pattern per key (train solid, validation dashed)."""
    run_ids: list[str] = []
    keys: list[str] = []
    for run, key in pairs:
        if run.info.run_id not in run_ids:
            run_ids.append(run.info.run_id)
        if key not in keys:
            keys.append(key)
    series = []
    for run, key in pairs:
        label = key if len(run_ids) == 1 else (
            run_label(run) if len(keys) == 1 else f"{run_label(run)} · {key}")
        series.append({"run": run.info.run_id, "key": key, "label": label,
                       "color": run_ids.index(run.info.run_id) if len(run_ids) > 1
                       else keys.index(key),
                       "dash": keys.index(key) if len(run_ids) > 1 else 0})
    size = "large" if large else ("small" if small else "")
    more = f'<a class="open" href="{e(link)}">open ↗</a>' if link else ""
    return (
        f'<div class="chart-box {size}"><div class="chart-head"><b>{e(title)}</b>{more}'
        '<span class="chart-note muted"></span></div>'
        f'<div class="lchart" data-x="{e(x)}" data-title="{e(title)}" '
        f'data-series="{e(json.dumps(series))}"></div></div>'
    )


def chart_controls(x: str = "step") -> str:
    """The toolbar every chart on the page follows: x axis, log scale, smoothing."""
    options = "".join(
        f'<option value="{value}"{" selected" if value == x else ""}>{label}</option>'
        for value, label in (("step", "step"), ("time", "wall time"),
                             ("relative", "relative time"))
    )
    return (
        '<div class="toolbar chart-controls">'
        f'<label>x axis <select id="chart-x">{options}</select></label>'
        '<label><input type="checkbox" id="chart-log"> log scale</label>'
        '<label>smoothing <input type="range" id="chart-smooth" min="0" max="0.99" '
        'step="0.01" value="0"> <output id="chart-smooth-value">0</output></label>'
        '<span class="muted">drag to zoom (exact values on zoom) · double-click to reset'
        "</span></div>"
    )


def error_page(status: int, message: str) -> str:
    titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Not allowed",
              500: "Server error"}
    title = titles.get(status, "Error")
    body = (
        f"<h1>{status} · {e(title)}</h1><p>{e(message)}</p>"
        '<p><a href="/">Back to the experiments</a></p>'
    )
    return layout(title, body)


# -- experiments --------------------------------------------------------------------------


def experiments_page(rows: Sequence[tuple[Any, int | None]], store: str) -> str:
    body = [f'<h1>Experiments</h1><p class="muted">Store: <code>{e(store)}</code></p>']
    if not rows:
        body.append('<p class="muted">No experiments yet.</p>')
    else:
        body.append(
            '<table class="experiments"><thead><tr><th>name</th><th>id</th><th>runs</th>'
            "<th>created</th><th>artifact location</th></tr></thead><tbody>"
        )
        for experiment, count in rows:
            link = f"/experiments/{seg(experiment.experiment_id)}"
            body.append(
                f'<tr><td><a href="{e(link)}">{e(experiment.name)}</a></td>'
                f'<td class="mono">{e(experiment.experiment_id)}</td>'
                f'<td class="num">{e("" if count is None else count)}</td>'
                f"<td>{e(fmt_time(experiment.creation_time))}</td>"
                f'<td class="mono muted">{e(experiment.artifact_location)}</td></tr>'
            )
        body.append("</tbody></table>")
    return layout("Experiments", "".join(body), crumbs=[("experiments", None)])


# -- runs table ---------------------------------------------------------------------------


def order_key(entity: str, key: str) -> str:
    """``params.C`` or, for keys the filter grammar cannot read bare, ``params.`my key```."""
    import re

    if re.fullmatch(r"[A-Za-z_][\w.\-/:]*", key):
        return f"{entity}.{key}"
    return f"{entity}.`{key}`"


def runs_page(
    experiment: Any,
    tree: Any,
    roots: Sequence[Any],
    *,
    param_keys: Sequence[str],
    metric_keys: Sequence[str],
    all_params: Sequence[str],
    all_metrics: Sequence[str],
    opened: set[str],
    filter_string: str,
    order_by: str,
    page: int,
    per_page: int,
    total_runs: int,
    stored: int | None,
    error: str | None,
    explicit_columns: Mapping[str, str],
    elapsed_ms: float | None = None,
    capped: bool = False,
) -> str:
    """The runs table: top-level runs paged, nested runs folded under their parent (open
    those in ``opened``, or all with ``open=all``); params and metrics in separate column
    groups. Every choice (filter, order, columns, open rows, page) lives in the URL."""
    base = f"/experiments/{seg(experiment.experiment_id)}"
    keep = dict(explicit_columns)
    if per_page != 100:
        keep["per_page"] = str(per_page)
    if opened:
        keep["open"] = ",".join(sorted(opened))

    def link(**changes: Any) -> str:
        query = {"filter": filter_string, "order_by": order_by, **keep}
        query.update(changes)
        return href(base, **query)

    current, _, direction = order_by.rpartition(" ")
    if direction.upper() not in ("ASC", "DESC"):
        current, direction = order_by, "ASC"
    current, direction = current.strip(), direction.upper()

    def header(label: str, key: str, first: str = "DESC", cls: str = "") -> str:
        arrow = ""
        new_direction = first
        if current == key:
            arrow = " ▼" if direction == "DESC" else " ▲"
            new_direction = "ASC" if direction == "DESC" else "DESC"
        target = link(order_by=f"{key} {new_direction}")
        return (
            f'<th data-key="{e(key)}" class="{cls}" title="{e(key)}"><a class="sort" '
            f'href="{target}">{e(label)}{arrow}</a></th>'
        )

    out = [f"<h1>{e(experiment.name)}</h1>"]
    hidden = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in keep.items()
    )
    out.append(
        f'<form class="filter" method="get" action="{e(base)}">'
        f'<input type="text" name="filter" value="{e(filter_string)}" '
        "placeholder=\"metrics.acc &gt; 0.9 and params.C = '1.0' and "
        "attributes.status = 'FINISHED'\" aria-label=\"filter\">"
        f'<input type="hidden" name="order_by" value="{e(order_by)}">{hidden}'
        '<button type="submit">Search</button>'
        f'<a class="button" href="{e(base)}">Clear</a></form>'
    )
    if error:
        out.append(f'<div class="error" role="alert">{e(error)}</div>')
    if capped:
        out.append(f'<div class="note">Only the first {total_runs:,} matching runs (in this '
                   "order) are shown: narrow them with a filter.</div>")
    n_roots = len(tree.roots)
    first = (page - 1) * per_page + 1
    last = first + len(roots) - 1
    if roots:
        nested = total_runs - n_roots
        shown = f"top-level runs {first}–{last} of {n_roots}"
        if nested:
            shown += f" ({total_runs} runs with {nested} nested)"
        if stored is not None:
            shown += f"; {total_runs} of {stored} runs match"
    else:
        shown = "no runs match" if filter_string else "no runs"
    pager = [f'<span class="muted count">{e(shown)}</span>']
    if page > 1:
        pager.append(f'<a class="prev" href="{link(page=page - 1)}">← previous</a>')
    if last < n_roots:
        pager.append(f'<a class="next" href="{link(page=page + 1)}">next →</a>')
    if elapsed_ms is not None:
        pager.append(f'<span class="muted">({elapsed_ms:.0f} ms)</span>')
    pager_html = f'<div class="pager">{"".join(pager)}</div>'
    out.append(pager_html)
    out.append(_column_chooser(base, filter_string, order_by, keep, param_keys, metric_keys,
                               all_params, all_metrics))
    out.append(
        '<form method="get" action="/compare" class="runs-form">'
        '<div class="toolbar"><button class="primary" type="submit" id="compare">'
        "Compare selected</button>"
        '<button type="submit" id="sweep-selected" formaction="/sweep">'
        "Sweep view of selected</button>"
        '<button type="button" id="expand-all">Expand all</button>'
        '<button type="button" id="collapse-all">Collapse all</button>'
        '<span id="saved-views"></span>'
        '<button type="button" id="save-view" title="remember this URL under a name '
        '(kept in this browser)">Save view</button></div>'
        f'<div class="scroll"><table class="runs" data-rows="{e(base)}/rows" '
        f'data-params="{e(json.dumps(list(param_keys)))}" '
        f'data-metrics="{e(json.dumps(list(metric_keys)))}"><thead><tr class="groups">'
        '<th class="pin pin0" rowspan="2"><input type="checkbox" id="select-all" '
        'aria-label="select all"></th>'
    )
    out.append(header("name", "attributes.run_name", "ASC", "pin pin1").replace(
        "<th ", '<th rowspan="2" ', 1))
    for label, key, first_dir in (("status", "attributes.status", "ASC"),
                                  ("start", "attributes.start_time", "DESC"),
                                  ("duration", "attributes.duration", "DESC")):
        out.append(header(label, key, first_dir).replace("<th ", '<th rowspan="2" ', 1))
    if param_keys:
        out.append(f'<th class="group params" colspan="{len(param_keys)}">Parameters</th>')
    if metric_keys:
        out.append(f'<th class="group metrics" colspan="{len(metric_keys)}">Metrics</th>')
    out.append("</tr><tr>")
    for key in param_keys:
        out.append(header(key, order_key("params", key), "ASC", "param"))
    for key in metric_keys:
        out.append(header(key, order_key("metrics", key), "DESC", "metric"))
    out.append("</tr></thead><tbody>")
    open_all = "all" in opened
    rows: list[str] = []
    for root in roots:  # folded rows are not sent: the script asks for them (`child_rows`)
        for run, depth in tree.subtree(root):
            if depth and not (open_all or _ancestors_open(tree, run, opened)):
                continue
            parent = run.data.tags.get("mlflow.parentRunId", "") if depth else ""
            rows.append(_run_row(run, depth, parent, tree, param_keys, metric_keys,
                                 True, open_all or run.info.run_id in opened))
    out.append("".join(rows))
    out.append("</tbody></table></div></form>")
    if len(roots) > 20:
        out.append(pager_html)
    crumbs = [("experiments", "/"), (experiment.name, None)]
    return layout(experiment.name, "".join(out), crumbs=crumbs)


def child_rows(tree: Any, parent: Any, param_keys: Sequence[str],
               metric_keys: Sequence[str]) -> str:
    """The rows under ``parent``: its children visible, deeper runs folded."""
    rows = []
    for run, depth in tree.subtree(parent):
        if depth == 0:
            continue
        rows.append(_run_row(run, depth, run.data.tags.get("mlflow.parentRunId", ""), tree,
                             param_keys, metric_keys, depth == 1, False))
    return "".join(rows)


def _ancestors_open(tree: Any, run: Any, opened: set[str]) -> bool:
    by_id = tree.by_id
    parent = run.data.tags.get("mlflow.parentRunId")
    seen = set()
    while parent and parent not in seen:
        if parent not in opened:
            return False
        seen.add(parent)
        above = by_id.get(parent)
        parent = above.data.tags.get("mlflow.parentRunId") if above is not None else None
    return True


def _run_row(run: Any, depth: int, parent: str, tree: Any, param_keys: Sequence[str],
             metric_keys: Sequence[str], visible: bool, is_open: bool) -> str:
    info, data = run.info, run.data
    rid = info.run_id
    n_children = len(tree.children.get(rid, ()))

    toggle = ""
    if n_children:
        total = tree.descendants(rid)
        toggle = (
            f'<button type="button" class="toggle" aria-expanded="{str(is_open).lower()}" '
            f'title="{total} nested runs">{"▾" if is_open else "▸"}</button>'
        )
    else:
        toggle = '<span class="toggle-space"></span>'
    count = ""
    if n_children:
        sweep = href("/sweep", parent=rid)
        count = (f' <span class="children muted">({n_children} children)</span>'
                 f' <a class="sweep-link" href="{sweep}">sweep</a>')
        headline = headline_metric(sorted(k for k in data.metrics if not k.startswith("system/")))
        if headline:
            count += (f' <span class="headline" title="the parent\'s headline metric">'
                      f"{e(headline)} {e(fmt_number(data.metrics[headline]))}</span>")
    indent = f' style="padding-left:{6 + 18 * depth}px"' if depth else ""
    attrs = f' data-run="{e(rid)}" data-depth="{depth}"'
    if parent:
        attrs += f' data-parent="{e(parent)}"'
    if not visible:
        attrs += " hidden"
    cells = [
        f'<tr{attrs}><td class="pin pin0"><input type="checkbox" name="runs" '
        f'value="{e(rid)}" aria-label="select"></td>'
        f'<td class="pin pin1 name"{indent}>{toggle}'
        f'<a href="{e("/runs/" + seg(rid))}">{e(run_label(run))}</a>{count}</td>'
        f"<td>{status_badge(info.status)}</td>"
        f"<td>{e(fmt_time(info.start_time))}</td>"
        f'<td class="num">{e(fmt_duration(info.start_time, info.end_time, info.status))}</td>'
    ]
    params, metrics = data.params, data.metrics
    for key in param_keys:
        cells.append(f'<td class="param">{e(params.get(key))}</td>')
    for key in metric_keys:
        cells.append(f'<td class="num metric">{e(fmt_number(metrics.get(key)))}</td>')
    cells.append("</tr>")
    return "".join(cells)


def _column_chooser(base: str, filter_string: str, order_by: str, keep: Mapping[str, str],
                    param_keys: Sequence[str], metric_keys: Sequence[str],
                    all_params: Sequence[str], all_metrics: Sequence[str]) -> str:
    """A form of checkboxes, params and metrics apart (``params.lr`` is not ``metrics.lr``):
    submitting it puts the chosen columns in the URL."""
    def boxes(entity: str, keys: Sequence[str], chosen: Sequence[str]) -> str:
        if not keys:
            return '<p class="muted">none</p>'
        return "".join(
            f'<label title="{e(entity)}.{e(k)}"><input type="checkbox" name="{e(entity)}" '
            f'value="{e(k)}"{" checked" if k in chosen else ""}> {e(k)}</label>'
            for k in keys
        )
    hidden = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">'
        for k, v in (("filter", filter_string), ("order_by", order_by),
                     *[(k, v) for k, v in keep.items() if k not in ("params", "metrics")])
        if v
    )
    return (
        '<details class="columns"><summary>Columns '
        f'<span class="muted">({len(param_keys)} params, {len(metric_keys)} metrics of '
        f"{len(all_params)} and {len(all_metrics)})</span></summary>"
        f'<form method="get" action="{e(base)}" class="column-chooser">{hidden}'
        '<input type="hidden" name="cols" value="1">'
        '<input type="search" class="column-filter" placeholder="find a column" '
        'aria-label="find a column">'
        f'<div class="cols"><fieldset><legend>Parameters (params.*)</legend>'
        f'{boxes("params", all_params, param_keys)}</fieldset>'
        f'<fieldset><legend>Metrics (metrics.*)</legend>'
        f'{boxes("metrics", all_metrics, metric_keys)}</fieldset></div>'
        '<button type="submit" class="primary">Show these columns</button></form></details>'
    )


# -- run page -----------------------------------------------------------------------------


def artifact_tree(run_id: str, entries: Sequence[Any], truncated: bool) -> str:
    if not entries:
        return '<p class="muted">No artifacts.</p>'
    rows = []
    for info in entries:
        depth = info.path.count("/")
        name = info.path.rsplit("/", 1)[-1]
        view = f"/runs/{seg(run_id)}/view/{path_url(info.path)}"
        indent = "&nbsp;" * (4 * depth)
        if info.is_dir:
            rows.append(
                f'<tr><td class="path">{indent}<a href="{e(view)}">{e(name)}/</a></td>'
                "<td></td><td></td></tr>"
            )
        else:
            raw = f"/runs/{seg(run_id)}/artifacts/{path_url(info.path)}"
            rows.append(
                f'<tr><td class="path">{indent}<a class="file" href="{e(view)}">{e(name)}</a></td>'
                f'<td class="num">{e(fmt_size(info.file_size))}</td>'
                f'<td><a href="{href(raw, download=1)}" download>download</a></td></tr>'
            )
    more = '<p class="muted">Listing truncated.</p>' if truncated else ""
    images = [info for info in entries if not info.is_dir
              and info.path.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"))]
    gallery = "".join(
        f'<a href="{e(f"/runs/{seg(run_id)}/view/{path_url(info.path)}")}">'
        f'<img class="thumb" src="{e(f"/runs/{seg(run_id)}/artifacts/{path_url(info.path)}")}" '
        f'alt="{e(info.path)}" title="{e(info.path)}" loading="lazy"></a>'
        for info in images[:8]
    )
    if gallery:
        more += f'<div class="gallery">{gallery}</div>'
    return (
        '<table class="tree"><thead><tr><th>path</th><th>size</th><th></th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>{more}'
    )


def _schema_table(title: str, schema: Any) -> str:
    if not schema:
        return ""
    rows = []
    for spec in schema if isinstance(schema, list) else []:
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == "tensor":
            tensor = spec.get("tensor-spec") or {}
            kind = f"tensor {tensor.get('dtype', '')} {tuple(tensor.get('shape') or [])}"
        else:
            kind = spec.get("type", "")
            if spec.get("required") is False:
                kind += " (optional)"
        rows.append(f"<tr><td>{e(spec.get('name', ''))}</td><td>{e(kind)}</td></tr>")
    return (
        f"<h3>{e(title)}</h3><table><thead><tr><th>name</th><th>type</th></tr></thead>"
        f'<tbody>{"".join(rows)}</tbody></table>'
    )


def model_section(run_id: str, model_path: str, meta: Mapping[str, Any] | None,
                  error: str | None = None) -> str:
    """A logged model's MLmodel: flavors, ids, signature and input example."""
    view = f"/runs/{seg(run_id)}/view/{path_url(model_path)}"
    out = [f'<div class="model"><h3>Model <a href="{e(view)}">{e(model_path or ".")}</a></h3>']
    if error or meta is None:
        out.append(f'<div class="error">{e(error or "unreadable MLmodel")}</div></div>')
        return "".join(out)
    uri = f"runs:/{run_id}/{model_path}" if model_path else f"runs:/{run_id}"
    info = [("model URI", uri)]
    for key in ("run_id", "artifact_path", "model_uuid", "utc_time_created",
                "mlflow_version", "autolog_version"):
        if meta.get(key) is not None:
            info.append((key, meta.get(key)))
    out.append(kv_table(info))
    flavors = meta.get("flavors") or {}
    if isinstance(flavors, dict):
        rows = []
        for name, conf in flavors.items():
            details = ", ".join(
                f"{k}={v}" for k, v in (conf.items() if isinstance(conf, dict) else [])
                if v is not None and not isinstance(v, (dict, list))
            )
            rows.append(f"<tr><th>{e(name)}</th><td>{e(details)}</td></tr>")
        out.append(f'<h3>Flavors</h3><table class="kv"><tbody>{"".join(rows)}</tbody></table>')
    signature = meta.get("signature")
    if isinstance(signature, dict):
        import json

        for title, field in (("Signature: inputs", "inputs"), ("Signature: outputs", "outputs")):
            raw = signature.get(field)
            try:
                parsed = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                parsed = None
                out.append(f"<h3>{e(title)}</h3><pre class=\"preview\">{e(raw)}</pre>")
            out.append(_schema_table(title, parsed))
    else:
        out.append('<p class="muted">No signature.</p>')
    example = meta.get("saved_input_example_info")
    if isinstance(example, dict):
        out.append("<h3>Input example</h3>" + kv_table(sorted(example.items())))
    out.append("</div>")
    return "".join(out)


AUTOLOG_TAG_PREFIXES = ("mlflow.", "autolog.")


def datasets_table(inputs: Sequence[Any]) -> str:
    """The run's dataset inputs (MLflow's Datasets tab): name, context, digest, source
    type and rows; empty when the run logged none."""
    if not inputs:
        return ""
    rows = []
    for dataset in inputs:
        size = ""
        try:
            profile = json.loads(dataset.profile) if dataset.profile else {}
            shape = profile.get("features_shape") or profile.get("shape")
            size = str(profile.get("num_rows", shape[0] if shape else ""))
        except (ValueError, TypeError, AttributeError, IndexError):
            size = ""
        rows.append(f"<tr><td>{e(dataset.name)}</td><td>{e(dataset.context or '')}</td>"
                    f'<td class="mono">{e(dataset.digest)}</td><td>{e(dataset.source_type)}</td>'
                    f'<td class="num">{e(size)}</td></tr>')
    return ('<h2 id="datasets">Datasets</h2><table class="datasets"><thead><tr><th>name</th>'
            "<th>context</th><th>digest</th><th>source</th><th>rows</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def csrf_input(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def run_page(
    run: Any,
    experiment_name: str,
    *,
    charts: Sequence[str],
    system_charts: Mapping[str, Sequence[str]],
    artifacts_html: str,
    models_html: Sequence[str],
    version: str,
    chart_note: str = "",
    children: Sequence[Any] = (),
    registered: Sequence[Any] = (),
    edit_token: str | None = None,
) -> str:
    info, data = run.info, run.data
    rid = info.run_id
    exp_link = f"/experiments/{seg(info.experiment_id)}"
    fields = [
        ("run id", f'<span class="mono">{e(rid)}</span>'),
        ("name", e(info.run_name)),
        ("experiment", f'<a href="{e(exp_link)}">{e(experiment_name)}</a>'),
        ("status", f'<span id="run-status">{status_badge(info.status)}</span>'),
        ("start", e(fmt_time(info.start_time))),
        ("end", e(fmt_time(info.end_time))),
        ("duration", e(fmt_duration(info.start_time, info.end_time, info.status))),
        ("artifact URI", f'<span class="mono">{e(info.artifact_uri)}</span>'),
    ]
    parent = data.tags.get("mlflow.parentRunId")
    if parent:
        fields.append(("parent run",
                       f'<a href="{e("/runs/" + seg(parent))}" class="mono">{e(parent)}</a>'))
    if children:
        fields.append(("child runs", f'{len(children)} · <a href="{href("/sweep", parent=rid)}"'
                       ' class="sweep-link">sweep view</a>'))
    for mv in registered:
        link = f"/models/{seg(mv.name)}/versions/{seg(mv.version)}"
        stage = "" if mv.current_stage in ("", "None") else _stage(mv.current_stage)
        fields.append(("registered as",
                       f'<a href="{e(link)}">{e(mv.name)} v{e(mv.version)}</a> {stage}'))
    info_table = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in fields)
    metrics = sorted((k, v) for k, v in data.metrics.items() if not k.startswith("system/"))
    system = sorted((k, v) for k, v in data.metrics.items() if k.startswith("system/"))

    def metric_rows(items: Sequence[tuple[str, float]]) -> str:
        if not items:
            return '<p class="muted">none</p>'
        rows = "".join(
            f'<tr><th><a href="{e(f"/runs/{seg(rid)}/metrics/{seg(k)}")}">{e(k)}</a></th>'
            f'<td class="num" data-metric="{e(k)}">{e(fmt_number(v))}</td></tr>'
            for k, v in items
        )
        return f'<table class="kv metrics"><tbody>{rows}</tbody></table>'

    user_tags = sorted((k, v) for k, v in data.tags.items()
                       if not k.startswith(AUTOLOG_TAG_PREFIXES))
    note = data.tags.get(NOTE_TAG, "")
    note_html = f'<div class="run-note">{e(note)}</div>' if note else ""
    if edit_token:
        action = f"/runs/{seg(rid)}/note"
        note_html = (
            f'<details class="edit"{" open" if not note else ""}><summary>'
            f'{"Edit the note" if note else "Add a note"}</summary>'
            f'<form method="post" action="{e(action)}" class="edit-note">{csrf_input(edit_token)}'
            f'<textarea name="note" rows="4" aria-label="note">{e(note)}</textarea>'
            '<button type="submit">Save note</button></form></details>' + note_html)
    own_tags = sorted((k, v) for k, v in data.tags.items() if k.startswith(AUTOLOG_TAG_PREFIXES))
    tags_html = kv_table(user_tags, "no tags of yours", "kv tags")
    if edit_token:
        tags_html += (
            f'<form method="post" action="{e(f"/runs/{seg(rid)}/tags")}" class="edit-tag">'
            f'{csrf_input(edit_token)}<input name="key" placeholder="tag" aria-label="tag key" '
            'required><input name="value" placeholder="value" aria-label="tag value">'
            '<button type="submit">Set tag</button></form>')
    if own_tags:
        tags_html += (
            f'<details class="system-tags"><summary>{len(own_tags)} tags autolog set '
            "(source, user, git, autologging, parent…)</summary>"
            + kv_table(own_tags, "", "kv tags autolog-tags") + "</details>"
        )
    live = ""
    if info.status == "RUNNING":
        live = ('<p class="note live">This run is RUNNING: charts and values refresh while '
                "it trains.</p>")
    system_html = ""
    if system_charts:
        system_html = "".join(
            f'<h3>{e(group)}</h3><div class="charts">{"".join(specs)}</div>'
            for group, specs in system_charts.items()
        )
    children_html = ""
    if children:
        rows = "".join(
            f'<tr><td><a href="{e("/runs/" + seg(c.info.run_id))}">{e(run_label(c))}</a></td>'
            f"<td>{status_badge(c.info.status)}</td>"
            f'<td class="mono">{e(", ".join(f"{k}={v}" for k, v in sorted(c.data.params.items())))}'
            "</td></tr>"
            for c in children[:200]
        )
        more = (f'<p class="muted">and {len(children) - 200} more: see the sweep view.</p>'
                if len(children) > 200 else "")
        children_html = (
            f'<h2>Child runs ({len(children)})</h2><p><a class="sweep-link" '
            f'href="{href("/sweep", parent=rid)}">Sweep view: parallel coordinates, scatter, '
            "parameter importance</a></p>"
            '<table class="children"><thead><tr><th>name</th><th>status</th><th>params</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>{more}"
        )
    body = [
        f"<h1>{e(run_label(run))}</h1>{live}{note_html}",
        '<div class="cols"><div><h2>Run</h2>'
        f'<table class="kv info"><tbody>{info_table}</tbody></table></div>',
        '<div><h2>Parameters</h2>'
        + kv_table(sorted(data.params.items()), "no parameters", "kv params")
        + "</div>",
        f"<div><h2>Metrics (latest)</h2>{metric_rows(metrics)}</div></div>",
        children_html,
        '<section class="chart-section"><h2>Charts</h2>' + chart_controls()
        + f'<div class="charts">{"".join(charts)}</div></section>' if charts else "",
        f'<p class="muted">{e(chart_note)}</p>' if chart_note else "",
        "<h2>System metrics</h2>" + metric_rows(system) + system_html if system else "",
        datasets_table(getattr(getattr(run, "inputs", None), "dataset_inputs", None) or ()),
        '<h2 id="tags">Tags</h2>' + tags_html,
        "<h2>Artifacts</h2>" + artifacts_html,
    ]
    if models_html:
        body.append("<h2>Models</h2>" + "".join(models_html))
    crumbs = [("experiments", "/"), (experiment_name, exp_link), (run_label(run), None)]
    poll = f"/api/runs/{seg(rid)}" if info.status == "RUNNING" else None
    return layout(run_label(run), "".join(body), crumbs=crumbs, poll=poll, version=version)


# -- metric chart page ------------------------------------------------------------------


def metric_page(
    run: Any,
    key: str,
    spec: str,
    *,
    x: str,
    group: Sequence[str],
    overlaid: Sequence[Any],
    candidates: Sequence[Any],
    missing: Sequence[str],
    experiment_name: str,
    version: str | None,
) -> str:
    """One chart, large, with a picker of the experiment's runs to overlay."""
    rid = run.info.run_id
    chosen = {r.info.run_id for r in overlaid}
    picks = "".join(
        f'<label data-name="{e(run_label(r).lower())}" data-label="{e(run_label(r))}">'
        '<input type="checkbox" '
        f'name="runs" value="{e(r.info.run_id)}"{" checked" if r.info.run_id in chosen else ""}>'
        f" {e(run_label(r))} {status_badge(r.info.status)}</label>"
        for r in candidates
    )
    picker = (
        f'<form class="picker" method="get" action="{e(f"/runs/{seg(rid)}/metrics/{seg(key)}")}">'
        f'<input type="hidden" name="x" value="{e(x)}">'
        '<div class="picker-head"><b>Overlay runs</b> <input type="search" class="picker-filter" '
        'placeholder="filter by name" aria-label="filter runs"></div>'
        f'<div class="picker-list">{picks or "<p class=muted>no other run has this metric</p>"}'
        '</div><noscript><button type="submit">Overlay</button></noscript></form>'
    )
    body = [
        f"<h1>{e(' · '.join(group))}</h1>",
        chart_controls(x),
    ]
    for run_id in missing:
        body.append(f'<div class="error">No run {e(run_id)}.</div>')
    body.append(
        f'<div class="metric-layout" data-run="{e(rid)}" data-label="{e(run_label(run))}" '
        f'data-keys="{e(json.dumps(list(group)))}">{spec}{picker}</div>')
    exp_link = f"/experiments/{seg(run.info.experiment_id)}"
    crumbs = [("experiments", "/"), (experiment_name, exp_link),
              (run_label(run), f"/runs/{seg(rid)}"), (key, None)]
    poll = f"/api/runs/{seg(rid)}" if version is not None else None
    return layout(key, "".join(body), crumbs=crumbs, poll=poll, version=version)


# -- compare ----------------------------------------------------------------------------


def _bars(values: Sequence[Any]) -> list[str]:
    """A small bar per value, its length relative to the largest magnitude in the row."""
    finite = [abs(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    top = max(finite, default=0)
    if not top:
        return [""] * len(values)
    out = []
    for v in values:
        if isinstance(v, (int, float)) and math.isfinite(v):
            cls = "cbar neg" if v < 0 else "cbar"
            out.append(f'<span class="{cls}" style="width:{60 * abs(v) / top:.0f}px"></span>')
        else:
            out.append("")
    return out


def compare_page(runs: Sequence[Any], charts: Sequence[str], missing: Sequence[str]) -> str:
    head = "".join(
        f'<th><a href="{e("/runs/" + seg(r.info.run_id))}">{e(run_label(r))}</a></th>'
        for r in runs
    )

    def section(title: str, values: Sequence[Mapping[str, Any]], numeric: bool) -> str:
        keys = sorted(set().union(*[set(v) for v in values])) if values else []
        if not keys:
            return f'<tr class="section same"><th colspan="{len(runs) + 1}">{e(title)}: none' \
                "</th></tr>"
        rows = [f'<tr class="section"><th colspan="{len(runs) + 1}">{e(title)}</th></tr>']
        for key in keys:
            cells = [v.get(key) for v in values]
            shown = [fmt_number(c) if numeric else ("" if c is None else str(c)) for c in cells]
            compared = [repr(c) if numeric else c for c in cells]
            cls = "diff" if len(set(compared)) > 1 else "same"
            bars = _bars(cells) if numeric and cls == "diff" else [""] * len(cells)
            rows.append(
                f'<tr class="{cls}" data-key="{e(key)}"><th>{e(key)}</th>'
                + "".join(f'<td class="{"num" if numeric else ""}">{bar}{e(text)}</td>'
                          for bar, text in zip(bars, shown))
                + "</tr>"
            )
        return "".join(rows)

    info_rows = []
    for label, getter in (
        ("run id", lambda r: r.info.run_id),
        ("status", lambda r: r.info.status),
        ("start", lambda r: fmt_time(r.info.start_time)),
        ("duration", lambda r: fmt_duration(r.info.start_time, r.info.end_time, r.info.status)),
    ):
        info_rows.append(
            f'<tr class="same"><th>{e(label)}</th>'
            + "".join(f"<td>{e(getter(r))}</td>" for r in runs) + "</tr>"
        )
    params = section("Parameters", [r.data.params for r in runs], False)
    metrics = section(
        "Metrics (latest)",
        [{k: v for k, v in r.data.metrics.items() if not k.startswith("system/")} for r in runs],
        True,
    )
    tags = section(
        "Tags",
        [{k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")} for r in runs],
        False,
    )
    body = [f"<h1>Comparing {len(runs)} runs</h1>"]
    for run_id in missing:
        body.append(f'<div class="error">No run {e(run_id)}.</div>')
    body.append(
        '<div class="toolbar"><label><input type="checkbox" id="only-diff"> '
        "show only differences</label></div>"
        f'<table class="compare"><thead><tr><th></th>{head}</tr></thead><tbody>'
        f'{"".join(info_rows)}{params}{metrics}{tags}</tbody></table>'
    )
    if charts:
        body.append(f'<h2>Metrics</h2>{chart_controls()}<div class="charts">{"".join(charts)}'
                    "</div>")
    ids = ",".join(r.info.run_id for r in runs)
    body.insert(1, f'<p><a class="sweep-link" href="{href("/sweep", runs=ids)}">Sweep view of '
                "these runs</a></p>")
    crumbs = [("experiments", "/"), ("compare", None)]
    return layout("Compare runs", "".join(body), crumbs=crumbs)


# -- artifact view ------------------------------------------------------------------------


def artifact_view_page(
    run: Any, path: str, content: str, experiment_name: str
) -> str:
    rid = run.info.run_id
    parts = [p for p in path.split("/") if p]
    trail = [f'<a href="{e("/runs/" + seg(rid))}#artifacts">artifacts</a>']
    for i, part in enumerate(parts):
        sub = "/".join(parts[: i + 1])
        if i == len(parts) - 1:
            trail.append(e(part))
        else:
            trail.append(f'<a href="{e(f"/runs/{seg(rid)}/view/{path_url(sub)}")}">{e(part)}</a>')
    body = f'<h1>{" / ".join(trail)}</h1>{content}'
    exp_link = f"/experiments/{seg(run.info.experiment_id)}"
    crumbs = [("experiments", "/"), (experiment_name, exp_link),
              (run_label(run), f"/runs/{seg(rid)}"), (path or "artifacts", None)]
    return layout(path or "artifacts", body, crumbs=crumbs)


# -- sweeps -------------------------------------------------------------------------------


def sweep_page(
    data: Mapping[str, Any],
    *,
    parent: Any,
    runs: Sequence[Any],
    metric: str,
    missing: Sequence[str],
    experiment_name: str,
) -> str:
    """Parallel coordinates, a param-vs-metric scatter and parameter importance; drawn by
    the script from the JSON block, with the importance table also written here."""
    title = f"Sweep: {run_label(parent)}" if parent is not None else f"Sweep of {len(runs)} runs"
    body = [f"<h1>{e(title)}</h1>"]
    for run_id in missing:
        body.append(f'<div class="error">No run {e(run_id)}.</div>')
    params, metrics = data["params"], data["metrics"]
    if not runs:
        body.append('<p class="muted">No runs: this run has no child runs.</p>')
    elif not metrics or not params:
        body.append('<p class="muted">Nothing to compare: the runs need at least one param '
                    "that varies and one metric.</p>")
    else:
        metric_options = "".join(
            f'<option value="{e(m)}"{" selected" if m == metric else ""}>{e(m)}</option>'
            for m in metrics)
        param_options = "".join(f'<option value="{e(p)}">{e(p)}</option>' for p in params)
        body.append(
            f'<p class="muted">{len(runs)} runs · {len(params)} params that vary · '
            f"{len(metrics)} metrics</p>"
            '<div class="toolbar sweep-controls">'
            f'<label>metric <select id="sweep-metric">{metric_options}</select></label>'
            f'<label>scatter x <select id="sweep-param">{param_options}</select></label>'
            '<label><input type="checkbox" id="sweep-logx"> log x</label></div>'
            '<h2>Parallel coordinates</h2><p id="sweep-selection" class="muted"></p>'
            '<div id="parallel" class="sweep-chart"></div>'
            '<div class="cols"><div><h2>Param vs metric</h2>'
            '<div id="scatter" class="sweep-chart"></div></div>'
            '<div class="sweep-side"><h2>Parameter importance</h2>'
            '<p class="muted">Correlation with the metric: Pearson r for numeric params '
            "(signed), correlation ratio η for categorical ones (0 to 1).</p>"
            f'<div id="importance">{importance_table(data["importance"].get(metric, []))}'
            "</div></div></div>"
        )
        body.append(json_block("sweep-data", data))
    crumbs: list[tuple[str, str | None]] = [("experiments", "/")]
    if runs:
        crumbs.append((experiment_name, f"/experiments/{seg(runs[0].info.experiment_id)}"))
    if parent is not None:
        crumbs.append((run_label(parent), f"/runs/{seg(parent.info.run_id)}"))
    crumbs.append(("sweep", None))
    return layout(title, "".join(body), crumbs=crumbs)


def importance_table(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return '<p class="muted">no params vary</p>'
    rows = []
    for item in items:
        value = item["value"]
        if value is None:
            bar, shown = "", "n/a"
        else:
            width = abs(value) * 100
            cls = "neg" if value < 0 else "pos"
            bar = f'<span class="bar {cls}" style="width:{width:.0f}%"></span>'
            shown = f"{value:+.2f}" if item["kind"] == "pearson" else f"{value:.2f}"
        symbol = "r" if item["kind"] == "pearson" else "η"
        rows.append(
            f'<tr data-param="{e(item["param"])}"><th>{e(item["param"])}</th>'
            f'<td class="num">{e(symbol)} = {e(shown)}</td><td class="barcell">{bar}</td>'
            f'<td class="num muted">{item["runs"]} runs</td></tr>'
        )
    return f'<table class="importance"><tbody>{"".join(rows)}</tbody></table>'


# -- model registry -----------------------------------------------------------------------


def _aliases(aliases: Iterable[str]) -> str:
    return " ".join(f'<span class="alias">@{e(a)}</span>' for a in aliases)


def _stage(stage: str) -> str:
    return f'<span class="stage stage-{e(stage)}">{e(stage)}</span>'


def models_page(models: Sequence[Any]) -> str:
    body = ["<h1>Registered models</h1>"]
    if not models:
        body.append('<p class="muted">No registered models. Register one with '
                    "<code>autolog.register_model(\"runs:/&lt;run id&gt;/model\", "
                    "\"name\")</code>.</p>")
    else:
        rows = []
        for model in models:
            latest = sorted(model.latest_versions, key=lambda v: int(v.version)
                            if str(v.version).isdigit() else 0)
            versions = " ".join(
                f'<a href="{e(f"/models/{seg(model.name)}/versions/{seg(v.version)}")}">'
                f"v{e(v.version)}</a> {_stage(v.current_stage)}" for v in latest)
            aliases = _aliases(f"{a} → v{v}" for a, v in sorted(model.aliases.items()))
            rows.append(
                f'<tr><td><a href="{e("/models/" + seg(model.name))}">{e(model.name)}</a></td>'
                f"<td>{versions}</td><td>{aliases}</td>"
                f"<td>{e(fmt_time(model.last_updated_timestamp))}</td>"
                f"<td>{e(model.description)}</td></tr>")
        body.append('<table class="models"><thead><tr><th>name</th><th>latest versions</th>'
                    "<th>aliases</th><th>updated</th><th>description</th></tr></thead>"
                    f'<tbody>{"".join(rows)}</tbody></table>')
    return layout("Models", "".join(body), crumbs=[("models", None)])


def model_page(model: Any, versions: Sequence[Any], edit_token: str | None = None) -> str:
    body = [f"<h1>{e(model.name)}</h1>"]
    if model.description:
        body.append(f"<p>{e(model.description)}</p>")
    body.append(kv_table([("created", fmt_time(model.creation_timestamp)),
                          ("updated", fmt_time(model.last_updated_timestamp))]))
    if model.aliases or edit_token:
        body.append("<h2>Aliases</h2>" + kv_table(
            [(f"@{a}", f"version {v}") for a, v in sorted(model.aliases.items())], "none"))
    if edit_token:
        action = f"/models/{seg(model.name)}/aliases"
        body.append(
            f'<form method="post" action="{e(action)}" class="edit-alias">{csrf_input(edit_token)}'
            '<input name="alias" placeholder="alias" aria-label="alias" required>'
            '<input name="version" placeholder="version" aria-label="version">'
            '<button type="submit">Set alias</button>'
            '<button type="submit" name="delete" value="1">Remove alias</button></form>')
    rows = []
    for mv in versions:
        link = f"/models/{seg(model.name)}/versions/{seg(mv.version)}"
        run = (f'<a class="mono" href="{e("/runs/" + seg(mv.run_id))}">{e(mv.run_id[:12])}</a>'
               if mv.run_id else "")
        rows.append(
            f'<tr data-version="{e(mv.version)}"><td><a href="{e(link)}">v{e(mv.version)}</a>'
            f"</td><td>{_stage(mv.current_stage)}</td><td>{_aliases(mv.aliases)}</td>"
            f"<td>{run}</td><td>{e(fmt_time(mv.creation_timestamp))}</td>"
            f'<td class="mono">{e(mv.source)}</td><td>{e(mv.description)}</td></tr>')
    body.append("<h2>Versions</h2>")
    body.append('<table class="versions"><thead><tr><th>version</th><th>stage</th>'
                "<th>aliases</th><th>run</th><th>created</th><th>source</th>"
                f'<th>description</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if model.tags:
        body.append("<h2>Tags</h2>" + kv_table(sorted(model.tags.items())))
    crumbs = [("models", "/models"), (model.name, None)]
    return layout(model.name, "".join(body), crumbs=crumbs)


def model_version_page(model: Any, mv: Any, run: Any, path: str | None, model_html: str,
                       entries: Sequence[Any], edit_token: str | None = None) -> str:
    fields = [
        ("model", f'<a href="{e("/models/" + seg(model.name))}">{e(model.name)}</a>'),
        ("version", e(mv.version)),
        ("stage", _stage(mv.current_stage)),
        ("aliases", _aliases(mv.aliases) or '<span class="muted">none</span>'),
        ("status", e(mv.status)),
        ("source", f'<span class="mono">{e(mv.source)}</span>'),
        ("created", e(fmt_time(mv.creation_timestamp))),
        ("updated", e(fmt_time(mv.last_updated_timestamp))),
    ]
    if run is not None:
        fields.insert(4, ("run", f'<a href="{e("/runs/" + seg(run.info.run_id))}">'
                          f"{e(run_label(run))}</a> {status_badge(run.info.status)}"))
    elif mv.run_id:
        fields.insert(4, ("run", f'<span class="mono">{e(mv.run_id)}</span> '
                          '<span class="muted">(not in this store)</span>'))
    if mv.description:
        fields.append(("description", e(mv.description)))
    rows = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in fields)
    body = [f"<h1>{e(model.name)} · version {e(mv.version)}</h1>",
            f'<table class="kv info"><tbody>{rows}</tbody></table>']
    if edit_token:
        options = "".join(f'<option{" selected" if s == mv.current_stage else ""}>{e(s)}</option>'
                          for s in STAGES)
        action = f"/models/{seg(model.name)}/versions/{seg(mv.version)}/stage"
        body.append(f'<form method="post" action="{e(action)}" class="edit-stage">'
                    f'{csrf_input(edit_token)}<label>stage <select name="stage">{options}'
                    '</select></label> <button type="submit">Change stage</button></form>')
    if mv.tags:
        body.append("<h2>Tags</h2>" + kv_table(sorted(mv.tags.items())))
    if run is not None and path is not None:
        body.append("<h2>Files</h2>" + artifact_tree(run.info.run_id, entries, False))
        body.append("<h2>MLmodel</h2>" + model_html)
    crumbs = [("models", "/models"), (model.name, f"/models/{seg(model.name)}"),
              (f"v{mv.version}", None)]
    return layout(f"{model.name} v{mv.version}", "".join(body), crumbs=crumbs)


def csv_table(text: str, delimiter: str = ",", cut: bool = False, max_rows: int = 500) -> str:
    """A CSV file's first ``max_rows`` rows as a table (the first row as its header)."""
    import csv
    import io

    lines = text.splitlines()
    if cut and lines:
        lines = lines[:-1]  # the preview cut the last line short
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines[: max_rows + 1])),
                               delimiter=delimiter))
    except csv.Error:
        return f'<pre class="preview">{e(text)}</pre>'
    if not rows:
        return '<p class="muted">Empty file.</p>'
    head = "".join(f"<th>{e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                   for row in rows[1:])
    more = (f'<p class="muted">First {max_rows} rows of {len(lines) - 1:,}.</p>'
            if len(lines) - 1 > max_rows else "")
    return (f'<div class="scroll"><table class="csv"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{more}")
