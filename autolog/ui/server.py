"""The UI's HTTP server: a small router over `http.server`, read-only, standard library only.

    server = make_server("path/to/store", host="127.0.0.1", port=5000)
    server.serve_forever()

Routes (GET and HEAD only)::

    /                                         experiments with run counts
    /experiments/<id>?filter=&order_by=&page=&per_page=&params=a&metrics=x&open=<ids>|all
                                              the runs table, nested runs folded
    /experiments/<id>/rows?parent=<id>&...    the rows under a parent (fetched on expand)
    /runs/<id>                                a run: info, params, metrics, charts, system
                                              metrics, tags, child runs, artifacts, models
    /runs/<id>/metrics/<key>?x=step|time|relative&runs=<id2>,<id3>
                                              one metric (and its train/val variants) large,
                                              other runs overlaid from a picker
    /runs/<id>/view/<path>                    browse a directory / preview a file
    /runs/<id>/artifacts/<path>[?download=1]  the file itself
    /compare?runs=a,b,c                       params side by side, metrics overlaid
    /sweep?parent=<id> | ?runs=a,b,c          parallel coordinates, scatter, importance
    /models, /models/<name>, /models/<name>/versions/<v>
                                              the model registry
    /api/runs/<id>                            JSON status for polling a RUNNING run
    /api/runs/<id>/metrics/<key>?x=&min=&max=&points=
                                              a history as chart JSON, downsampled
    /static/<name>                            uPlot and the page script (a fixed list)

Safety: every page value is escaped (`pages.e`); artifact paths go through
`core.validation.artifact_path` and the backend's confined resolution, so ``..``,
absolute paths and symlinks leaving the run are a 404; an unknown id is a 404 page; any
other exception is logged here and answered with a 500 page without the traceback.
POST is refused (405) unless the server was made with ``allow_edits``: then
`autolog.ui.edits` applies tag, note, stage and alias edits behind a CSRF token and an
Origin check.
Every response carries a Content-Security-Policy and ``X-Content-Type-Options: nosniff``.
When bound to a loopback address, requests naming another host are refused (DNS
rebinding).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from autolog.core import search, validation
from autolog.core.errors import InvalidInputError, ResourceNotFoundError
from autolog.ui import charts, edits, pages, sweeps

logger = logging.getLogger("autolog.ui")

#: Scripts only from this server's /static (no inline script runs); styles may be inline
#: (uPlot positions its legend and cursor with style attributes).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Served artifacts run nothing, even an SVG or HTML file opened directly.
ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"

PER_PAGE = 100
MAX_PER_PAGE = 1000
ALL_RUNS = 50_000  # runs read when sorting by duration (not a stored attribute)
ALL_KEYS_RUNS = 5_000  # runs whose keys the column chooser offers
PARENT_TAG = "mlflow.parentRunId"
MAX_COLUMNS = 8  # default param + metric columns of the runs table
MAX_RUN_CHARTS = 30
MAX_SYSTEM_CHARTS = 16
MAX_COMPARE_RUNS = 20
MAX_COMPARE_CHARTS = 24
MAX_ARTIFACT_ENTRIES = 500
MAX_PICKER_RUNS = 500  # runs offered by a chart's overlay picker
MAX_SWEEP_RUNS = 5_000
MAX_API_POINTS = 20_000
X_AXES = ("step", "time", "relative")
TEXT_PREVIEW_BYTES = 100_000
MLMODEL_MAX_BYTES = 1_000_000

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
TEXT_SUFFIXES = {
    ".txt", ".log", ".csv", ".tsv", ".json", ".yaml", ".yml", ".md", ".py", ".cfg", ".ini",
    ".toml", ".html", ".htm", ".xml", ".sh", ".rst", ".jsonl", ".out", ".err", "",
}
TEXT_NAMES = {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml", "LICENSE"}


STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_TYPES = {
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "autolog-ui.js": "text/javascript; charset=utf-8",
    "autolog-ui.css": "text/css; charset=utf-8",
}


class HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(message: str) -> HTTPError:
    return HTTPError(404, message)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    file: str | None = None  # stream this file instead of body
    cleanup: str | None = None  # a temporary directory to remove afterwards


def html_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"))


def _one(query: dict[str, list[str]], name: str, default: str = "") -> str:
    values = query.get(name)
    return values[-1] if values else default


def _int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(_one(query, name, str(default)))
    except ValueError:
        return default
    return min(max(value, low), high)


def _csv(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return out


#: (word in the key, heading), first match wins: see `autolog.core.tracking.sysmetrics`.
SYSTEM_GROUPS = (("gpu", "GPU"), ("process", "Process"), ("cpu", "CPU"), ("memory", "Memory"),
                 ("disk", "Disk"), ("network", "Network"))


def system_group(key: str) -> str:
    """The heading a system metric is charted under: ``system/gpu_0_memory_...`` -> GPU."""
    name = key.removeprefix("system/").lower()
    for word, group in SYSTEM_GROUPS:
        if word in name:
            return group
    return "Other"


class RunTree:
    """Runs nested under their parent (the ``mlflow.parentRunId`` tag), order kept.

    A run whose parent is not among ``runs`` (filtered out, or deleted) is a root.
    """

    def __init__(self, runs: Sequence[Any]) -> None:
        self.by_id = {r.info.run_id: r for r in runs}
        ids = self.by_id.keys()
        self.children: dict[str, list[Any]] = {}
        self.roots: list[Any] = []
        for run in runs:
            parent = run.data.tags.get(PARENT_TAG)
            if parent and parent in ids and parent != run.info.run_id:
                self.children.setdefault(parent, []).append(run)
            else:
                self.roots.append(run)
        reached = {r.info.run_id for root in self.roots for r, _ in self.subtree(root)}
        if len(reached) < len(ids):  # parent tags forming a cycle: those runs become roots
            for run in runs:
                if run.info.run_id not in reached:
                    self.roots.append(run)
                    reached.update(r.info.run_id for r, _ in self.subtree(run))

    def descendants(self, run_id: str) -> int:
        """How many runs are nested under this one, at any depth."""
        return sum(1 for _ in self.subtree(self.by_id[run_id])) - 1

    def subtree(self, run: Any, depth: int = 0, seen: set[str] | None = None):
        """(run, depth) pairs: the run, then its children, depth first."""
        seen = set() if seen is None else seen
        if run.info.run_id in seen:  # a cycle of parent tags: show each run once
            return
        seen.add(run.info.run_id)
        yield run, depth
        for child in self.children.get(run.info.run_id, ()):
            yield from self.subtree(child, depth + 1, seen)


def _json_response(body: Any) -> Response:
    return Response(200, json.dumps(body, allow_nan=False, default=str).encode("utf-8"),
                    "application/json", headers={"Cache-Control": "no-store"})


def _finite_json(value: float) -> Any:
    return value if math.isfinite(value) else str(value)


def content_type_for(path: str) -> tuple[str, bool]:
    """(Content-Type, may be shown inline) for an artifact file name."""
    name = path.rsplit("/", 1)[-1]
    suffix = os.path.splitext(name)[1].lower()
    if suffix in IMAGE_TYPES:
        return IMAGE_TYPES[suffix], True
    if name in TEXT_NAMES or suffix in TEXT_SUFFIXES:
        return "text/plain; charset=utf-8", True  # .html too: shown as text, never rendered
    return "application/octet-stream", False


def _disposition(kind: str, name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "artifact"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class UIApp:
    """Routes a GET to a handler; handlers read through `autolog.Client` (read-only)."""

    def __init__(self, tracking_uri: str | None = None, allow_edits: bool = False) -> None:
        import autolog

        self.client = autolog.Client(tracking_uri=tracking_uri)
        #: The CSRF token of the edit forms; None: read-only (no forms, every POST a 405).
        self.edit_token = secrets.token_urlsafe(32) if allow_edits else None
        self.editor = edits.Editor(self.client)
        self.backend = self.client.backend
        self.tracking_uri = self.client.tracking_uri
        self.routes: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
            (re.compile(r"/"), self.index),
            (re.compile(r"/experiments/([^/]+)/?"), self.experiment),
            (re.compile(r"/experiments/([^/]+)/rows"), self.experiment_rows),
            (re.compile(r"/runs/([^/]+)/?"), self.run),
            (re.compile(r"/runs/([^/]+)/metrics/(.+)"), self.metric),
            (re.compile(r"/runs/([^/]+)/artifacts/(.*)"), self.artifact_file),
            (re.compile(r"/runs/([^/]+)/view/?(.*)"), self.artifact_view),
            (re.compile(r"/compare/?"), self.compare),
            (re.compile(r"/sweep/?"), self.sweep),
            (re.compile(r"/models/?"), self.models),
            (re.compile(r"/models/([^/]+)/?"), self.model),
            (re.compile(r"/models/([^/]+)/versions/([^/]+)/?"), self.model_version),
            (re.compile(r"/api/runs/([^/]+)"), self.api_run),
            (re.compile(r"/api/runs/([^/]+)/metrics/(.+)"), self.api_metric),
            (re.compile(r"/static/([A-Za-z0-9._-]+)"), self.static),
            (re.compile(r"/favicon\.ico"), lambda query: Response(204)),
        ]

    # -- dispatch ----------------------------------------------------------------------

    def dispatch(self, target: str) -> Response:
        """The response to a GET of ``target`` (path and query); never raises."""
        try:
            parts = urlsplit(target)
            query = parse_qs(parts.query, keep_blank_values=True)
            for pattern, handler in self.routes:
                match = pattern.fullmatch(parts.path)
                if match:
                    args = [unquote(group, errors="strict") for group in match.groups()]
                    return handler(query, *args)
            raise not_found(f"No page at {unquote(parts.path, errors='replace')!r}.")
        except HTTPError as exc:
            return html_response(pages.error_page(exc.status, exc.message), exc.status)
        except ResourceNotFoundError as exc:
            return html_response(pages.error_page(404, str(exc)), 404)
        except UnicodeDecodeError:
            return html_response(pages.error_page(404, "Malformed URL."), 404)
        except Exception:  # noqa: BLE001 - a page, never a traceback, for the browser
            logger.exception("autolog ui: error while serving %r", target)
            message = "Internal error while building this page; see the server's log."
            return html_response(pages.error_page(500, message), 500)

    def post(self, target: str, headers: Any, body: bytes) -> Response:
        """Apply an edit (``--allow-edits`` only) and send the browser back; never raises."""
        if self.edit_token is None:
            return html_response(pages.error_page(405, "The UI is read-only."), 405)
        try:
            location = self.editor.handle(target, headers, body, self.edit_token)
        except edits.EditRefused as exc:
            return html_response(pages.error_page(exc.status, exc.message), exc.status)
        except Exception:  # noqa: BLE001 - a page, never a traceback, for the browser
            logger.exception("autolog ui: error while editing %r", target)
            return html_response(pages.error_page(500, "Internal error; see the server's log."),
                                 500)
        logger.info("autolog ui: edit %s", urlsplit(target).path)
        return Response(303, headers={"Location": location})

    # -- lookups -----------------------------------------------------------------------

    def _run(self, run_id: str):
        try:
            return self.client.get_run(run_id)
        except (ResourceNotFoundError, InvalidInputError):
            raise not_found(f"No run with id {run_id!r}.") from None

    def _experiment(self, experiment_id: str):
        try:
            return self.client.get_experiment(experiment_id)
        except (ResourceNotFoundError, InvalidInputError):
            raise not_found(f"No experiment with id {experiment_id!r}.") from None

    def _experiment_name(self, experiment_id: str) -> str:
        try:
            return self.client.get_experiment(experiment_id).name
        except Exception:  # noqa: BLE001 - a run is still worth showing
            return experiment_id

    def _series(self, run_id: str, key: str) -> tuple[list[int], list[int], list[float]]:
        return self.backend.get_metric_series(run_id, key)

    def _count(self, experiment_id: str) -> int | None:
        try:
            return self.backend.count_runs(experiment_id)
        except Exception:  # noqa: BLE001 - a count is not worth a failed page
            logger.warning("autolog ui: cannot count runs of %s", experiment_id, exc_info=True)
            return None

    @staticmethod
    def _version(run: Any) -> str:
        """Changes whenever what the run page shows of a RUNNING run changes."""
        data = run.data
        payload = repr((
            run.info.status, run.info.end_time, sorted(data.metrics.items()),
            len(data.params), len(data.tags),
        ))
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]

    # -- pages -------------------------------------------------------------------------

    def index(self, query: dict[str, list[str]]) -> Response:
        experiments = self.client.search_experiments()
        rows = [(exp, self._count(exp.experiment_id)) for exp in experiments]
        return html_response(pages.experiments_page(rows, self.tracking_uri))

    def experiment(self, query: dict[str, list[str]], experiment_id: str) -> Response:
        """The runs table: every matching run read once (fast: ~70 ms for 5,000 runs in
        the embedded store), nested runs folded under their parent, top-level runs paged."""
        started = time.perf_counter()
        experiment = self._experiment(experiment_id)
        eid = experiment.experiment_id
        filter_string = _one(query, "filter").strip()
        order_by = " ".join(_one(query, "order_by").split())
        page = _int(query, "page", 1, 1, 1_000_000)
        per_page = _int(query, "per_page", PER_PAGE, 1, MAX_PER_PAGE)
        runs, error = self._matching_runs(eid, filter_string, order_by)
        tree = RunTree(runs)
        offset = (page - 1) * per_page
        roots = tree.roots[offset:offset + per_page]
        shown = [r for root in roots for r, _ in tree.subtree(root)]
        param_keys, metric_keys = self._columns(shown or runs, filter_string, order_by)
        explicit = {"cols": "1"} if query.get("cols") else {}
        if query.get("params") or query.get("cols"):
            param_keys = _csv(query.get("params", []))
            explicit["params"] = ",".join(param_keys)
        if query.get("metrics") or query.get("cols"):
            metric_keys = _csv(query.get("metrics", []))
            explicit["metrics"] = ",".join(metric_keys)
        all_params = sorted({k for r in runs[:ALL_KEYS_RUNS] for k in r.data.params})
        all_metrics = sorted({k for r in runs[:ALL_KEYS_RUNS] for k in r.data.metrics})
        opened = set(_csv(query.get("open", [])))
        text = pages.runs_page(
            experiment, tree, roots, param_keys=param_keys, metric_keys=metric_keys,
            all_params=all_params, all_metrics=all_metrics, opened=opened,
            filter_string=filter_string, order_by=order_by, page=page, per_page=per_page,
            total_runs=len(runs), stored=self._count(eid) if filter_string else None,
            error=error, explicit_columns=explicit, capped=len(runs) >= ALL_RUNS,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
        return html_response(text)

    def _matching_runs(self, eid: str, filter_string: str, order_by: str
                       ) -> tuple[list[Any], str | None]:
        """Every run of the experiment the filter matches, in order (or the filter's error)."""
        try:
            if order_by.split(" ")[0] in ("attributes.duration", "duration"):
                return self._by_duration(eid, filter_string, order_by), None
            return self.client.search_runs(
                [eid], filter_string, [order_by] if order_by else None, max_results=ALL_RUNS,
            ), None
        except InvalidInputError as exc:
            return [], str(exc)

    def experiment_rows(self, query: dict[str, list[str]], experiment_id: str) -> Response:
        """The table rows nested under ``?parent=`` (its children shown, theirs folded),
        for the script to insert when a parent is expanded; same filter, order, columns."""
        eid = self._experiment(experiment_id).experiment_id
        runs, error = self._matching_runs(eid, _one(query, "filter").strip(),
                                          " ".join(_one(query, "order_by").split()))
        if error:
            raise HTTPError(400, error)
        tree = RunTree(runs)
        parent = tree.by_id.get(_one(query, "parent"))
        if parent is None:
            raise not_found("No such parent run among the matching runs.")
        text = pages.child_rows(tree, parent, _csv(query.get("params", [])),
                                _csv(query.get("metrics", [])))
        return Response(200, text.encode("utf-8"))

    def _by_duration(self, eid: str, filter_string: str, order_by: str) -> list[Any]:
        runs = self.client.search_runs([eid], filter_string, None, max_results=ALL_RUNS)
        descending = order_by.upper().endswith(" DESC")
        ended = [r for r in runs if r.info.end_time and r.info.start_time]
        running = [r for r in runs if not (r.info.end_time and r.info.start_time)]
        ended.sort(key=lambda r: r.info.end_time - r.info.start_time, reverse=descending)
        return ended + running  # no duration yet: last, in either direction

    @staticmethod
    def _columns(runs: Sequence[Any], filter_string: str, order_by: str
                 ) -> tuple[list[str], list[str]]:
        """The params and metrics most runs on the page share, plus those filtered/sorted on."""
        wanted: dict[str, list[str]] = {"params": [], "metrics": []}
        try:
            named = [(c.entity, c.key) for c in search.parse_filter(filter_string)]
            named += [(entity, key) for entity, key, _ in search.parse_order_by(order_by or None)]
        except InvalidInputError:
            named = []
        for entity, key in named:
            if entity in wanted and key not in wanted[entity]:
                wanted[entity].append(key)
        param_counts: dict[str, int] = {}
        param_values: dict[str, set[str]] = {}
        metric_counts: dict[str, int] = {}
        for run in runs:
            for key, value in run.data.params.items():
                param_counts[key] = param_counts.get(key, 0) + 1
                param_values.setdefault(key, set()).add(value)
            for key in run.data.metrics:
                metric_counts[key] = metric_counts.get(key, 0) + 1
        # params that tell the runs apart first, then the most common ones
        params = sorted(param_counts, key=lambda k: (len(param_values[k]) == 1 and len(runs) > 1,
                                                     -param_counts[k], k))
        metrics = sorted(metric_counts, key=lambda k: (k.startswith("system/"),
                                                       -metric_counts[k], k))
        half = MAX_COLUMNS // 2
        n_params = min(len(params), max(half, MAX_COLUMNS - len(metrics)))
        n_metrics = min(len(metrics), MAX_COLUMNS - n_params)
        for key in params[:n_params]:
            if key not in wanted["params"]:
                wanted["params"].append(key)
        for key in metrics[:n_metrics]:
            if key not in wanted["metrics"]:
                wanted["metrics"].append(key)
        return wanted["params"], wanted["metrics"]

    def run(self, query: dict[str, list[str]], run_id: str) -> Response:
        run = self._run(run_id)
        rid = run.info.run_id
        keys = sorted(run.data.metrics)
        user_keys = [k for k in keys if not k.startswith("system/")]
        system_keys = [k for k in keys if k.startswith("system/")]
        groups = charts.group_metric_keys(user_keys)
        skipped = max(len(groups) - MAX_RUN_CHARTS, 0)
        chart_specs = [
            pages.chart_spec(" · ".join(group), [(run, k) for k in group],
                             link=f"/runs/{pages.seg(rid)}/metrics/{pages.seg(group[0])}")
            for group in groups[:MAX_RUN_CHARTS]
        ]
        system_specs: dict[str, list[str]] = {}
        for key in system_keys[:MAX_SYSTEM_CHARTS * 4]:
            system_specs.setdefault(system_group(key), []).append(
                pages.chart_spec(key.removeprefix("system/"), [(run, key)], x="relative",
                                 link=f"/runs/{pages.seg(rid)}/metrics/{pages.seg(key)}"
                                 "?x=relative", small=True))
        entries, truncated = self._artifact_entries(rid)
        models = []
        for info in entries:
            name = info.path.rsplit("/", 1)[-1]
            if not info.is_dir and name == "MLmodel":
                model_dir = info.path.rpartition("/")[0]
                models.append(self._model_html(rid, model_dir))
        children = self._children(run)
        text = pages.run_page(
            run, self._experiment_name(run.info.experiment_id),
            charts=chart_specs, system_charts=system_specs,
            artifacts_html='<div class="cols"><div id="artifacts">'
            + pages.artifact_tree(rid, entries, truncated)
            + '</div><div id="artifact-preview" hidden></div></div>',
            models_html=models, version=self._version(run),
            chart_note=f"{skipped} more metric groups are not charted here." if skipped else "",
            children=children, registered=self._registered_versions(rid),
            edit_token=self.edit_token,
        )
        return html_response(text)

    def _children(self, run: Any) -> list[Any]:
        rid = run.info.run_id
        try:
            return self.client.search_runs(
                [run.info.experiment_id], f"tags.`{PARENT_TAG}` = '{rid}'",
                max_results=ALL_RUNS)
        except InvalidInputError:  # a run id the filter cannot quote: no children shown
            return []

    def _registered_versions(self, run_id: str) -> list[Any]:
        """The registry's versions made from this run ([] without a registry)."""
        try:
            return self.client.backend.search_model_versions(f"run_id = '{run_id}'")
        except (NotImplementedError, InvalidInputError):
            return []
        except Exception:  # noqa: BLE001 - the run page stands without registry links
            logger.warning("autolog ui: cannot read the model registry", exc_info=True)
            return []

    def _artifact_entries(self, run_id: str) -> tuple[list[Any], bool]:
        """Every artifact under the run, breadth first, at most MAX_ARTIFACT_ENTRIES."""
        entries: list[Any] = []
        pending = [""]
        truncated = False
        while pending:
            path = pending.pop(0)
            try:
                children = self.client.list_artifacts(run_id, path)
            except (InvalidInputError, ResourceNotFoundError, OSError):
                continue
            for info in children:
                if len(entries) >= MAX_ARTIFACT_ENTRIES:
                    truncated = True
                    break
                entries.append(info)
                if info.is_dir:
                    pending.append(info.path)
            if truncated:
                break
        entries.sort(key=lambda info: info.path.split("/"))
        return entries, truncated

    def _model_html(self, run_id: str, model_dir: str) -> str:
        mlmodel = f"{model_dir}/MLmodel" if model_dir else "MLmodel"
        try:
            import yaml

            raw = self._read_artifact(run_id, mlmodel, MLMODEL_MAX_BYTES)
            meta = yaml.safe_load(raw.decode("utf-8", errors="replace"))
            if not isinstance(meta, dict):
                raise ValueError("not a mapping")
        except Exception as exc:  # noqa: BLE001 - shown on the page, not fatal
            return pages.model_section(run_id, model_dir, None, f"Cannot read MLmodel: {exc}")
        return pages.model_section(run_id, model_dir, meta)

    # -- artifacts ---------------------------------------------------------------------

    def _local_artifact(self, run_id: str, path: str) -> tuple[str, str | None]:
        """A local path for the artifact (and a temporary directory to remove, if any).

        Confined to the run's artifact directory: anything else is a 404.
        """
        try:
            clean = validation.artifact_path(path)
            local = self.backend.artifact_local_path(run_id, clean)
        except (InvalidInputError, ValueError, OSError):
            raise not_found(f"No artifact {path!r} in run {run_id}.") from None
        if local is not None:
            if not os.path.exists(local):
                raise not_found(f"No artifact {path!r} in run {run_id}.")
            return local, None
        tmp = tempfile.mkdtemp(prefix="autolog-ui-")
        try:
            return self.backend.download_artifacts(run_id, clean, tmp), tmp
        except Exception:  # noqa: BLE001 - any failure to fetch is "not there"
            shutil.rmtree(tmp, ignore_errors=True)
            raise not_found(f"No artifact {path!r} in run {run_id}.") from None

    def _read_artifact(self, run_id: str, path: str, limit: int) -> bytes:
        local, tmp = self._local_artifact(run_id, path)
        try:
            if not os.path.isfile(local):
                raise not_found(f"Artifact {path!r} is not a file.")
            with open(local, "rb") as handle:
                return handle.read(limit)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)

    def artifact_file(self, query: dict[str, list[str]], run_id: str, path: str) -> Response:
        self._run(run_id)
        local, tmp = self._local_artifact(run_id, path)
        if os.path.isdir(local):
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
            target = f"/runs/{pages.seg(run_id)}/view/{pages.path_url(path)}"
            return Response(302, headers={"Location": target})
        name = path.rstrip("/").rsplit("/", 1)[-1]
        content_type, inline = content_type_for(name)
        download = _one(query, "download") not in ("", "0")
        kind = "inline" if inline and not download else "attachment"
        headers = {
            "Content-Disposition": _disposition(kind, name),
            "Content-Security-Policy": ARTIFACT_CSP,
            "Cache-Control": "no-cache",
        }
        return Response(200, content_type=content_type, headers=headers, file=local, cleanup=tmp)

    def artifact_view(self, query: dict[str, list[str]], run_id: str, path: str) -> Response:
        run = self._run(run_id)
        path = path.strip("/")
        try:
            clean = validation.artifact_path(path)
        except InvalidInputError:
            raise not_found(f"No artifact {path!r} in run {run_id}.") from None
        try:
            children = self.client.list_artifacts(run_id, clean)
        except (InvalidInputError, OSError, ValueError):
            raise not_found(f"No artifact {path!r} in run {run_id}.") from None
        local, tmp = (None, None)
        is_dir = bool(children) or clean == ""
        if not is_dir:
            local, tmp = self._local_artifact(run_id, clean)
            is_dir = os.path.isdir(local)
        try:
            if is_dir:
                content = self._directory_html(run_id, clean, children)
            else:
                assert local is not None
                content = self._file_html(run_id, clean, local)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        if _one(query, "fragment") == "1":  # the run page's preview panel
            return html_response(f"<h3>{pages.e(clean)}</h3>{content}")
        name = self._experiment_name(run.info.experiment_id)
        return html_response(pages.artifact_view_page(run, clean, content, name))

    def _directory_html(self, run_id: str, path: str, children: Sequence[Any]) -> str:
        parts = [pages.artifact_tree(run_id, children, False)]
        if any(not c.is_dir and c.path.rsplit("/", 1)[-1] == "MLmodel" for c in children):
            parts.append(self._model_html(run_id, path))
        return "".join(parts)

    def _file_html(self, run_id: str, path: str, local: str) -> str:
        size = os.path.getsize(local)
        raw_url = f"/runs/{pages.seg(run_id)}/artifacts/{pages.path_url(path)}"
        head = (
            f'<p><span class="muted">{pages.e(pages.fmt_size(size))}</span> · '
            f'<a href="{pages.href(raw_url, download=1)}" download>download</a></p>'
        )
        content_type, inline = content_type_for(path)
        if content_type.startswith("image/"):
            return head + f'<img class="preview" src="{pages.e(raw_url)}" alt="{pages.e(path)}">'
        if inline:
            with open(local, "rb") as handle:
                data = handle.read(TEXT_PREVIEW_BYTES + 1)
            if b"\x00" in data[:8192]:
                return head + '<p class="muted">Binary file: no preview.</p>'
            more = ""
            if len(data) > TEXT_PREVIEW_BYTES:
                data = data[:TEXT_PREVIEW_BYTES]
                more = (f'<p class="muted">Preview cut at {TEXT_PREVIEW_BYTES:,} bytes; '
                        "download for the rest.</p>")
            text = data.decode("utf-8", errors="replace")
            suffix = os.path.splitext(path)[1].lower()
            if suffix in (".csv", ".tsv"):
                return head + pages.csv_table(text, "\t" if suffix == ".tsv" else ",",
                                              cut=bool(more)) + more
            if suffix == ".json" and not more:
                try:
                    text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
                except ValueError:
                    pass  # shown as it is
            return head + f'<pre class="preview">{pages.e(text)}</pre>' + more
        return head + '<p class="muted">No preview for this file type.</p>'

    # -- charts --------------------------------------------------------------------------

    def metric(self, query: dict[str, list[str]], run_id: str, key: str) -> Response:
        """One metric (with its train/validation variants) large, other runs overlaid."""
        run = self._run(run_id)
        rid = run.info.run_id
        if key not in run.data.metrics:
            raise not_found(f"Run {rid} has no metric {key!r}.")
        x = _one(query, "x", "step")
        if x not in X_AXES:
            x = "step"
        base = charts.split_role(key)[0].lower()
        group = [k for g in charts.group_metric_keys(sorted(run.data.metrics)) for k in g
                 if charts.split_role(k)[0].lower() == base] or [key]
        others = [r for r in _csv(query.get("runs", [])) if r != rid][:MAX_COMPARE_RUNS]
        runs = [run]
        missing = []
        for other in others:
            try:
                runs.append(self.client.get_run(other))
            except (ResourceNotFoundError, InvalidInputError):
                missing.append(other)
        candidates = [
            r for r in self.client.search_runs([run.info.experiment_id],
                                               max_results=MAX_PICKER_RUNS)
            if r.info.run_id != rid and any(k in r.data.metrics for k in group)
        ]
        spec = pages.chart_spec(" · ".join(group), [(r, k) for r in runs for k in group
                                                   if k in r.data.metrics], x=x, large=True)
        version = self._version(run) if run.info.status == "RUNNING" else None
        text = pages.metric_page(
            run, key, spec, x=x, group=group, overlaid=runs[1:], candidates=candidates,
            missing=missing, experiment_name=self._experiment_name(run.info.experiment_id),
            version=version,
        )
        return html_response(text)

    def compare(self, query: dict[str, list[str]]) -> Response:
        ids = _csv(query.get("runs", []))[:MAX_COMPARE_RUNS]
        if not ids:
            raise HTTPError(400, "Select runs to compare: /compare?runs=<id>,<id>.")
        runs, missing = [], []
        for run_id in ids:
            try:
                runs.append(self.client.get_run(run_id))
            except (ResourceNotFoundError, InvalidInputError):
                missing.append(run_id)
        if not runs:
            raise not_found(f"No run with id {ids[0]!r}.")
        keys = sorted({k for r in runs for k in r.data.metrics if not k.startswith("system/")})
        specs = []
        for group in charts.group_metric_keys(keys)[:MAX_COMPARE_CHARTS]:
            pairs = [(r, k) for r in runs for k in group if k in r.data.metrics]
            ids_param = ",".join(r.info.run_id for r in runs[1:])
            link = (f"/runs/{pages.seg(runs[0].info.run_id)}/metrics/{pages.seg(group[0])}"
                    f"?runs={quote(ids_param)}")
            specs.append(pages.chart_spec(" · ".join(group), pairs, link=link))
        return html_response(pages.compare_page(runs, specs, missing))

    def api_metric(self, query: dict[str, list[str]], run_id: str, key: str) -> Response:
        """A metric history as chart JSON: ?x=step|time|relative&min=&max=&points=."""
        run = self._run(run_id)
        x = _one(query, "x", "step")
        if x not in X_AXES:
            raise HTTPError(400, f"x must be one of {', '.join(X_AXES)}.")
        bounds = []
        for name in ("min", "max"):
            raw = _one(query, name)
            try:
                value = float(raw) if raw else None
            except ValueError:
                raise HTTPError(400, f"{name} must be a number.") from None
            bounds.append(value if value is None or math.isfinite(value) else None)
        points = _int(query, "points", charts.MAX_POINTS, 10, MAX_API_POINTS)
        steps, stamps, values = self._series(run.info.run_id, key)
        if not values:
            raise not_found(f"Run {run.info.run_id} has no metric {key!r}.")
        body = charts.series_payload(steps, stamps, values, x=x, low=bounds[0],
                                     high=bounds[1], max_points=points)
        body.update(run_id=run.info.run_id, key=key, status=run.info.status)
        return _json_response(body)

    def static(self, query: dict[str, list[str]], name: str) -> Response:
        """A file shipped in ``autolog/ui/static`` (a fixed list; nothing else is served)."""
        if name not in STATIC_TYPES:
            raise not_found(f"No static file {name!r}.")
        path = os.path.join(STATIC_DIR, name)
        with open(path, "rb") as handle:
            body = handle.read()
        return Response(200, body, STATIC_TYPES[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    # -- sweeps --------------------------------------------------------------------------

    def sweep(self, query: dict[str, list[str]]) -> Response:
        """A search's child runs (``?parent=``) or chosen runs (``?runs=``) side by side:
        parallel coordinates, a param-metric scatter and parameter importance."""
        parent_id = _one(query, "parent")
        parent = None
        missing: list[str] = []
        if parent_id:
            parent = self._run(parent_id)
            runs = self._children(parent)
        else:
            ids = _csv(query.get("runs", []))[:MAX_SWEEP_RUNS]
            if not ids:
                raise HTTPError(400, "Choose a parent run (?parent=<id>) or runs (?runs=a,b).")
            runs = []
            for run_id in ids:
                try:
                    runs.append(self.client.get_run(run_id))
                except (ResourceNotFoundError, InvalidInputError):
                    missing.append(run_id)
        runs = runs[:MAX_SWEEP_RUNS]
        data = sweeps.sweep_data(runs)
        metric = _one(query, "metric")
        if metric not in data["metrics"]:
            metric = sweeps.headline_metric(data["metrics"])
        name = self._experiment_name((parent or runs[0]).info.experiment_id) if (
            parent or runs) else ""
        text = pages.sweep_page(data, parent=parent, runs=runs, metric=metric,
                                missing=missing, experiment_name=name)
        return html_response(text)

    # -- model registry ------------------------------------------------------------------

    def _registry(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except NotImplementedError:
            raise HTTPError(404, "This store has no model registry.") from None
        except (ResourceNotFoundError, InvalidInputError) as exc:
            raise not_found(str(exc)) from None

    def models(self, query: dict[str, list[str]]) -> Response:
        found = self._registry(lambda: self.backend.search_registered_models())
        return html_response(pages.models_page(sorted(found, key=lambda m: m.name.lower())))

    def model(self, query: dict[str, list[str]], name: str) -> Response:
        model = self._registry(lambda: self.backend.get_registered_model(name))
        versions = self._registry(
            lambda: [v for v in self.backend.search_model_versions() if v.name == model.name])
        versions.sort(key=lambda v: int(v.version) if str(v.version).isdigit() else 0,
                      reverse=True)
        return html_response(pages.model_page(model, versions, edit_token=self.edit_token))

    def model_version(self, query: dict[str, list[str]], name: str, version: str) -> Response:
        mv = self._registry(lambda: self.backend.get_model_version(name, version))
        model = self._registry(lambda: self.backend.get_registered_model(name))
        run = None
        model_html = ""
        entries: list[Any] = []
        run_id, path = mv.run_id, None
        if mv.source.startswith("runs:/"):
            run_id, _, path = mv.source.removeprefix("runs:/").partition("/")
        if run_id:
            try:
                run = self.client.get_run(run_id)
            except (ResourceNotFoundError, InvalidInputError):
                run = None
        if run is not None and path is not None:
            model_html = self._model_html(run.info.run_id, path.strip("/"))
            try:
                entries = self.client.list_artifacts(run.info.run_id, path.strip("/"))
            except (InvalidInputError, OSError, ValueError):
                entries = []
        return html_response(pages.model_version_page(model, mv, run, path, model_html,
                                                      entries, edit_token=self.edit_token))

    def api_run(self, query: dict[str, list[str]], run_id: str) -> Response:
        run = self._run(run_id)
        body = {
            "run_id": run.info.run_id,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "metrics": {k: _finite_json(v) for k, v in sorted(run.data.metrics.items())},
            "version": self._version(run),
        }
        return _json_response(body)


# -- HTTP plumbing ----------------------------------------------------------------------------

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class UIRequestHandler(BaseHTTPRequestHandler):
    server_version = "autolog-ui"
    sys_version = ""
    timeout = 60  # a silent client does not hold a worker forever

    server: UIServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _refuse(self) -> None:
        self._send(html_response(pages.error_page(405, "The UI is read-only."), 405), False)

    do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """An edit, under ``--allow-edits`` only (`autolog.ui.edits` checks the rest)."""
        if self.server.app.edit_token is None:
            self._refuse()
            return
        if not self._host_allowed():
            message = "Host not allowed: this server answers only to a loopback address."
            self._send(html_response(pages.error_page(403, message), 403), False)
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= edits.MAX_BODY:
            self.close_connection = True
            self._send(html_response(pages.error_page(400, "Bad form size."), 400), False)
            return
        body = self.rfile.read(length)
        self._send(self.server.app.post(self.path, self.headers, body), False)

    def _host_allowed(self) -> bool:
        if not self.server.loopback_only:
            return True
        host = (self.headers.get("Host") or "").strip()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host.startswith("[") and "]" in host:
            name = host[: host.index("]") + 1]
        return name.lower() in LOOPBACK_NAMES or is_loopback(name)

    def _serve(self, head: bool) -> None:
        if not self._host_allowed():
            message = "Host not allowed: this server answers only to a loopback address."
            self._send(html_response(pages.error_page(403, message), 403), head)
            return
        started = time.perf_counter()
        response = self.server.app.dispatch(self.path)
        self._send(response, head)
        logger.debug("%s %s -> %d in %.1f ms", self.command, self.path, response.status,
                     (time.perf_counter() - started) * 1000)

    def _send(self, response: Response, head: bool) -> None:
        try:
            self.send_response(response.status)
            headers = {
                "Content-Type": response.content_type,
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin",  # no-referrer would make Origin "null"
                "Cache-Control": "no-store",
            }
            headers.update(response.headers)
            if response.file is not None:
                headers["Content-Length"] = str(os.path.getsize(response.file))
            else:
                headers["Content-Length"] = str(len(response.body))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if head:
                return
            if response.file is not None:
                with open(response.file, "rb") as handle:
                    shutil.copyfileobj(handle, self.wfile, 256 * 1024)
            else:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if response.cleanup:
                shutil.rmtree(response.cleanup, ignore_errors=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.info("%s - %s", self.address_string(), format % args)


class UIServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` whose requests run on a fixed pool of threads.

    A pool rather than a thread per request: the embedded store keeps one SQLite
    connection per thread, so reused threads reuse connections instead of opening one
    per request.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: UIApp, workers: int = 8) -> None:
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.loopback_only = is_loopback(host)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="autolog-ui")
        super().__init__(address, UIRequestHandler)  # a failed bind calls server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"


def make_server(tracking_uri: str | None = None, host: str = "127.0.0.1", port: int = 5000,
                allow_edits: bool = False) -> UIServer:
    """A UI server for the store at ``tracking_uri`` (port 0: any free port); read-only
    unless ``allow_edits`` (see `autolog.ui.edits`)."""
    return UIServer((host, port), UIApp(tracking_uri, allow_edits=allow_edits))
