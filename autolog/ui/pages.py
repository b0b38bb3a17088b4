"""The UI's HTML: one function per page, each value escaped with `e` (``html.escape``).

Pages are plain server-rendered HTML with an inline stylesheet; the only scripts are a
few inline lines (select-all checkbox, "only differences" toggle, polling a RUNNING run).
Nothing is loaded from elsewhere. Handlers in `autolog.ui.server` gather the data and
call these functions; nothing here reads the store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

STYLE = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg2:#f6f8fa; --accent:#0969da;
        --diff:#fff3c4; --err:#ffebe9; --errline:#ff8182; }
* { box-sizing: border-box; }
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
.chart-box { border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
svg.chart { display: block; }
svg.chart .grid { stroke: #eaeef2; }
svg.chart .frame, svg.chart .tick { stroke: #8c959f; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; fill: #1f2328; }
svg.chart .legend { fill: #1f2328; }
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

POLL_SCRIPT = """(function () {
  var b = document.body, u = b.getAttribute('data-poll');
  if (!u) { return; }
  setInterval(function () {
    fetch(u, {cache: 'no-store'}).then(function (r) { return r.json(); }).then(function (d) {
      if (d.version !== b.getAttribute('data-version')) { location.reload(); }
    }).catch(function () {});
  }, 3000);
})();"""

SELECT_ALL_SCRIPT = """(function () {
  var all = document.getElementById('select-all');
  if (!all) { return; }
  all.addEventListener('change', function () {
    document.querySelectorAll('input[name=runs]').forEach(function (c) {
      c.checked = all.checked; });
  });
})();"""

ONLY_DIFF_SCRIPT = """(function () {
  var box = document.getElementById('only-diff');
  if (!box) { return; }
  box.addEventListener('change', function () {
    document.querySelectorAll('tr.same').forEach(function (r) {
      r.style.display = box.checked ? 'none' : ''; });
  });
})();"""


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
    scripts: Sequence[str] = (),
) -> str:
    """The page frame. ``crumbs``: (label, url or None). ``poll``: a JSON URL to watch."""
    trail = " / ".join(
        f'<a href="{e(url)}">{e(label)}</a>' if url else f"<span>{e(label)}</span>"
        for label, url in crumbs
    )
    body_attrs = ""
    if poll:
        body_attrs = f' data-poll="{e(poll)}" data-version="{e(version or "")}"'
        scripts = [*scripts, POLL_SCRIPT]
    script_html = "".join(f"<script>{s}</script>" for s in scripts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · autolog</title><style>{STYLE}</style></head>"
        f"<body{body_attrs}><header><a href=\"/\">autolog</a>"
        f'<nav class="crumbs">{trail}</nav></header><main>{body}</main>{script_html}'
        "</body></html>"
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
    runs: Sequence[Any],
    *,
    param_keys: Sequence[str],
    metric_keys: Sequence[str],
    filter_string: str,
    order_by: str,
    page: int,
    per_page: int,
    has_next: bool,
    total: int | None,
    error: str | None,
    explicit_columns: Mapping[str, str],
    elapsed_ms: float | None = None,
) -> str:
    base = f"/experiments/{seg(experiment.experiment_id)}"
    keep = dict(explicit_columns)
    if per_page != 100:
        keep["per_page"] = str(per_page)

    def link(**changes: Any) -> str:
        query = {"filter": filter_string, "order_by": order_by, **keep}
        query.update(changes)
        return href(base, **query)

    current, _, direction = order_by.rpartition(" ")
    if direction.upper() not in ("ASC", "DESC"):
        current, direction = order_by, "ASC"
    current, direction = current.strip(), direction.upper()

    def header(label: str, key: str, first: str = "DESC") -> str:
        arrow = ""
        new_direction = first
        if current == key:
            arrow = " ▼" if direction == "DESC" else " ▲"
            new_direction = "ASC" if direction == "DESC" else "DESC"
        target = link(order_by=f"{key} {new_direction}")
        return (
            f'<th data-key="{e(key)}"><a class="sort" href="{target}">{e(label)}{arrow}</a></th>'
        )

    out = [f"<h1>{e(experiment.name)}</h1>"]
    out.append(
        f'<form class="filter" method="get" action="{e(base)}">'
        f'<input type="text" name="filter" value="{e(filter_string)}" '
        "placeholder=\"metrics.acc &gt; 0.9 and params.C = '1.0' and "
        "attributes.status = 'FINISHED'\" aria-label=\"filter\">"
        f'<input type="hidden" name="order_by" value="{e(order_by)}">'
        + "".join(
            f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in keep.items()
        )
        + '<button type="submit">Search</button>'
        f'<a class="button" href="{e(base)}">Clear</a></form>'
    )
    if error:
        out.append(f'<div class="error" role="alert">{e(error)}</div>')
    first = (page - 1) * per_page + 1
    last = first + len(runs) - 1
    if runs:
        shown = f"runs {first}–{last}" + (f" of {total}" if total is not None else "")
    else:
        shown = "no runs match" if filter_string else "no runs"
    pager = [f'<span class="muted">{e(shown)}</span>']
    if page > 1:
        pager.append(f'<a class="prev" href="{link(page=page - 1)}">← previous</a>')
    if has_next:
        pager.append(f'<a class="next" href="{link(page=page + 1)}">next →</a>')
    if elapsed_ms is not None:
        pager.append(f'<span class="muted">({elapsed_ms:.0f} ms)</span>')
    pager_html = f'<div class="pager">{"".join(pager)}</div>'
    out.append(pager_html)
    out.append(
        '<form method="get" action="/compare" class="runs-form">'
        '<div class="toolbar"><button class="primary" type="submit" id="compare">'
        "Compare selected</button></div>"
        '<div class="scroll"><table class="runs"><thead><tr>'
        '<th><input type="checkbox" id="select-all" aria-label="select all"></th>'
    )
    out.append(header("name", "attributes.run_name", "ASC"))
    out.append(header("status", "attributes.status", "ASC"))
    out.append(header("start", "attributes.start_time"))
    out.append(header("duration", "attributes.duration"))
    for key in param_keys:
        out.append(header(key, order_key("params", key), "ASC"))
    for key in metric_keys:
        out.append(header(key, order_key("metrics", key)))
    out.append("</tr></thead><tbody>")
    rows = []
    for run in runs:
        info, data = run.info, run.data
        run_link = f"/runs/{seg(info.run_id)}"
        cells = [
            f'<tr data-run="{e(info.run_id)}"><td><input type="checkbox" name="runs" '
            f'value="{e(info.run_id)}" aria-label="select"></td>'
            f'<td><a href="{e(run_link)}">{e(run_label(run))}</a></td>'
            f"<td>{status_badge(info.status)}</td>"
            f"<td>{e(fmt_time(info.start_time))}</td>"
            f'<td class="num">{e(fmt_duration(info.start_time, info.end_time, info.status))}</td>'
        ]
        params, metrics = data.params, data.metrics
        for key in param_keys:
            cells.append(f"<td>{e(params.get(key))}</td>")
        for key in metric_keys:
            cells.append(f'<td class="num">{e(fmt_number(metrics.get(key)))}</td>')
        cells.append("</tr>")
        rows.append("".join(cells))
    out.append("".join(rows))
    out.append("</tbody></table></div></form>")
    if len(runs) > 20:
        out.append(pager_html)
    crumbs = [("experiments", "/"), (experiment.name, None)]
    return layout(experiment.name, "".join(out), crumbs=crumbs, scripts=[SELECT_ALL_SCRIPT])


# -- run page -----------------------------------------------------------------------------


def chart_box(svg: str, link: str | None = None, note: str = "") -> str:
    more = f'<div><a href="{e(link)}">open ↗</a> <span class="muted">{e(note)}</span></div>' \
        if link else (f'<div class="muted">{e(note)}</div>' if note else "")
    return f'<div class="chart-box">{svg}{more}</div>'


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
                f'<tr><td class="path">{indent}<a href="{e(view)}">{e(name)}</a></td>'
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


def run_page(
    run: Any,
    experiment_name: str,
    *,
    charts: Sequence[str],
    system_charts: Sequence[str],
    artifacts_html: str,
    models_html: Sequence[str],
    version: str,
    chart_note: str = "",
) -> str:
    info, data = run.info, run.data
    rid = info.run_id
    exp_link = f"/experiments/{seg(info.experiment_id)}"
    fields = [
        ("run id", f'<span class="mono">{e(rid)}</span>'),
        ("name", e(info.run_name)),
        ("experiment", f'<a href="{e(exp_link)}">{e(experiment_name)}</a>'),
        ("status", status_badge(info.status)),
        ("start", e(fmt_time(info.start_time))),
        ("end", e(fmt_time(info.end_time))),
        ("duration", e(fmt_duration(info.start_time, info.end_time, info.status))),
        ("artifact URI", f'<span class="mono">{e(info.artifact_uri)}</span>'),
    ]
    parent = data.tags.get("mlflow.parentRunId")
    if parent:
        fields.append(("parent run",
                       f'<a href="{e("/runs/" + seg(parent))}" class="mono">{e(parent)}</a>'))
    info_table = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in fields)
    metrics = sorted((k, v) for k, v in data.metrics.items() if not k.startswith("system/"))
    system = sorted((k, v) for k, v in data.metrics.items() if k.startswith("system/"))

    def metric_rows(items: Sequence[tuple[str, float]]) -> str:
        if not items:
            return '<p class="muted">none</p>'
        rows = "".join(
            f'<tr><th><a href="{e(f"/runs/{seg(rid)}/metrics/{seg(k)}")}">{e(k)}</a></th>'
            f'<td class="num">{e(fmt_number(v))}</td></tr>'
            for k, v in items
        )
        return f'<table class="kv metrics"><tbody>{rows}</tbody></table>'

    live = ""
    if info.status == "RUNNING":
        live = '<p class="note">This run is RUNNING: the page refreshes when it changes.</p>'
    body = [
        f"<h1>{e(run_label(run))}</h1>{live}",
        '<div class="cols"><div><h2>Run</h2>'
        f'<table class="kv info"><tbody>{info_table}</tbody></table></div>',
        '<div><h2>Parameters</h2>'
        + kv_table(sorted(data.params.items()), "no parameters", "kv params")
        + "</div>",
        f"<div><h2>Metrics (latest)</h2>{metric_rows(metrics)}</div></div>",
        f'<h2>Charts</h2><div class="charts">{"".join(charts)}</div>'
        if charts else "",
        f'<p class="muted">{e(chart_note)}</p>' if chart_note else "",
        "<h2>System metrics</h2>" + metric_rows(system)
        + (f'<div class="charts">{"".join(system_charts)}</div>' if system_charts else ""),
        "<h2>Tags</h2>" + kv_table(sorted(data.tags.items()), "no tags", "kv tags"),
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
    svg: str,
    *,
    x: str,
    others: Sequence[str],
    missing: Sequence[str],
    notes: Sequence[str],
    experiment_name: str,
    version: str | None,
) -> str:
    rid = run.info.run_id
    base = f"/runs/{seg(rid)}/metrics/{seg(key)}"
    runs_param = ",".join(others)
    axes = " · ".join(
        f"<b>{e(label)}</b>" if value == x
        else f'<a href="{href(base, x=value, runs=runs_param)}">{e(label)}</a>'
        for value, label in (("step", "step"), ("time", "wall time"),
                             ("relative", "relative time"))
    )
    body = [
        f"<h1>{e(key)}</h1>",
        f'<div class="toolbar">x axis: {axes}</div>',
        f'<form class="filter" method="get" action="{e(base)}">'
        f'<input type="hidden" name="x" value="{e(x)}">'
        f'<input type="text" name="runs" value="{e(runs_param)}" '
        'placeholder="other run ids to overlay, comma separated" aria-label="runs">'
        '<button type="submit">Overlay</button></form>',
    ]
    for run_id in missing:
        body.append(f'<div class="error">No run {e(run_id)}.</div>')
    body.append(chart_box(svg))
    for note in notes:
        body.append(f'<p class="muted">{e(note)}</p>')
    exp_link = f"/experiments/{seg(run.info.experiment_id)}"
    crumbs = [("experiments", "/"), (experiment_name, exp_link),
              (run_label(run), f"/runs/{seg(rid)}"), (key, None)]
    poll = f"/api/runs/{seg(rid)}" if version is not None else None
    return layout(key, "".join(body), crumbs=crumbs, poll=poll, version=version)


# -- compare ----------------------------------------------------------------------------


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
            rows.append(
                f'<tr class="{cls}" data-key="{e(key)}"><th>{e(key)}</th>'
                + "".join(f'<td class="{"num" if numeric else ""}">{e(s)}</td>' for s in shown)
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
        body.append(f'<h2>Metrics</h2><div class="charts">{"".join(charts)}</div>')
    crumbs = [("experiments", "/"), ("compare", None)]
    return layout("Compare runs", "".join(body), crumbs=crumbs, scripts=[ONLY_DIFF_SCRIPT])


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
