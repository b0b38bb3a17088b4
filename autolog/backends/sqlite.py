"""The embedded default store: one SQLite file plus an artifact directory.

Layout of a store directory::

    <root>/runs.db                       SQLite, WAL mode
    <root>/artifacts/<experiment_id>/<run_id>/...

Several threads and several processes may use one store at once: each thread (and each
forked child) opens its own connection, writes run in ``BEGIN IMMEDIATE`` transactions
and wait up to 30 s for a lock. The schema is versioned: `_MIGRATIONS` lists the steps,
applied in order in one transaction, so a change of schema later is one more entry.

Default artifact locations are stored relative to the store directory, so a store can be
moved or copied as a whole.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from operator import itemgetter

from autolog.backends import _local
from autolog.backends.base import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    TrackingBackend,
    linked_metrics,
)
from autolog.core import search
from autolog.core.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelMetric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from autolog.core.errors import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    StoreNotFoundError,
    StoreUnavailableError,
)

DB_FILE_NAME = "runs.db"
ARTIFACTS_DIR_NAME = "artifacts"
BUSY_TIMEOUT_S = 30.0

# Each entry is one schema version: the statements that take the previous version to it.
# Never edit an entry once released; append a new one.
_MIGRATIONS: list[tuple[str, ...]] = [
    # 1: experiments, runs and what they log
    (
        """CREATE TABLE experiments (
            experiment_id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            artifact_location TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            creation_time INTEGER)""",
        """CREATE TABLE experiment_tags (
            experiment_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (experiment_id, key))""",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            experiment_id TEXT NOT NULL,
            run_name TEXT NOT NULL,
            status TEXT NOT NULL,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            artifact_uri TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active')""",
        "CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage)",
        """CREATE TABLE params (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key))""",
        """CREATE TABLE tags (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key))""",
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value REAL NOT NULL,
            is_nan INTEGER NOT NULL DEFAULT 0,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX metrics_by_run_key ON metrics (run_id, key, step, timestamp)",
        """CREATE TABLE latest_metrics (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value REAL NOT NULL,
            is_nan INTEGER NOT NULL DEFAULT 0,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, key))""",
    ),
    # 2: the model registry
    (
        """CREATE TABLE registered_models (
            name TEXT PRIMARY KEY,
            creation_timestamp INTEGER NOT NULL,
            last_updated_timestamp INTEGER NOT NULL,
            description TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE registered_model_tags (
            name TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (name, key))""",
        """CREATE TABLE model_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            run_id TEXT,
            current_stage TEXT NOT NULL DEFAULT 'None',
            description TEXT NOT NULL DEFAULT '',
            creation_timestamp INTEGER NOT NULL,
            last_updated_timestamp INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'READY',
            PRIMARY KEY (name, version))""",
        """CREATE TABLE model_version_tags (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (name, version, key))""",
        """CREATE TABLE registered_model_aliases (
            name TEXT NOT NULL,
            alias TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (name, alias))""",
    ),
    # 3: MLflow 3's entities: the datasets runs used, and logged models
    (
        """CREATE TABLE run_inputs (
            run_id TEXT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            source_type TEXT NOT NULL,
            source TEXT NOT NULL,
            schema TEXT,
            profile TEXT,
            tags TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (run_id, name, digest, context))""",
        """CREATE TABLE logged_models (
            model_id TEXT PRIMARY KEY,
            experiment_id TEXT NOT NULL,
            run_id TEXT,
            name TEXT NOT NULL,
            artifact_path TEXT,
            status TEXT NOT NULL DEFAULT 'PENDING',
            creation_time INTEGER NOT NULL,
            last_updated_time INTEGER NOT NULL,
            model_type TEXT,
            flavor TEXT)""",
        "CREATE INDEX logged_models_by_run ON logged_models (run_id)",
        "CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id)",
        """CREATE TABLE logged_model_tags (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (model_id, key))""",
        """CREATE TABLE logged_model_params (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (model_id, key))""",
        """CREATE TABLE logged_model_metrics (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value REAL NOT NULL,
            is_nan INTEGER NOT NULL DEFAULT 0,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL DEFAULT 0,
            dataset_name TEXT NOT NULL DEFAULT '',
            dataset_digest TEXT NOT NULL DEFAULT '',
            run_id TEXT,
            PRIMARY KEY (model_id, key, step, timestamp, dataset_name, dataset_digest))""",
    ),
]
SCHEMA_VERSION = len(_MIGRATIONS)

_RUN_COLUMNS = (
    "run_id, experiment_id, run_name, status, start_time, end_time, artifact_uri, lifecycle_stage"
)
_VERSION_COLUMNS = (
    "name, version, source, run_id, current_stage, creation_timestamp, "
    "last_updated_timestamp, description, status"
)
_LATEST_UPSERT = """
    INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, key) DO UPDATE SET
        value = excluded.value, is_nan = excluded.is_nan,
        timestamp = excluded.timestamp, step = excluded.step
    WHERE excluded.step > latest_metrics.step
       OR (excluded.step = latest_metrics.step
           AND excluded.timestamp >= latest_metrics.timestamp)
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def resolve_local_uri(uri: str) -> tuple[str, str | None]:
    """``(store directory, db file or None)`` for a path, ``file:`` or ``sqlite:///`` URI.

    ``sqlite:///runs.db`` is relative to the working directory and ``sqlite:////abs/runs.db``
    absolute (SQLAlchemy's and MLflow's convention); its artifacts go next to the file.
    """
    if uri.startswith("sqlite:"):
        rest = uri[len("sqlite:") :]
        if not rest.startswith("///") or len(rest) == 3:
            raise InvalidInputError(
                f"Invalid tracking URI {uri!r}: expected sqlite:///relative/path/runs.db or "
                "sqlite:////absolute/path/runs.db (for an in-process store use 'memory:')."
            )
        db_path = os.path.abspath(os.path.expanduser(urllib.parse.unquote(rest[3:])))
        if rest[3:] == ":memory:":
            raise InvalidInputError(
                f"Invalid tracking URI {uri!r}: use 'memory:' for an in-process store."
            )
        return os.path.dirname(db_path), db_path
    if uri.startswith("file:"):
        rest = uri[len("file:") :]
        if rest.startswith("//"):
            host, slash, path = rest[2:].partition("/")
            if host not in ("", "localhost"):
                raise InvalidInputError(
                    f"Invalid tracking URI {uri!r}: file URIs must name a local path "
                    "(file:///abs/path or file:relative/path), not host {host!r}."
                )
            rest = slash + path
        if not rest:
            raise InvalidInputError(f"Invalid tracking URI {uri!r}: the path is empty.")
        return os.path.abspath(os.path.expanduser(urllib.parse.unquote(rest))), None
    return os.path.abspath(os.path.expanduser(uri)), None


def unusable_store_reason(exc: BaseException, root_dir: str, db_path: str) -> str | None:
    """Why an OS or SQLite error means the store cannot be used, in a few words naming
    the path at fault; None for an error that says nothing about the store (a bug)."""
    if isinstance(exc, OSError):
        path = os.path.abspath(exc.filename) if exc.filename else root_dir
        if isinstance(exc, (NotADirectoryError, FileExistsError)):
            blocker = _first_non_directory(path)
            if blocker is not None:
                return f"{blocker} is not a directory"
        if isinstance(exc, PermissionError):
            return f"{_deepest_existing(path)} is not writable (permission denied)"
        return f"{exc.strerror or exc} ({path})"
    message = str(exc).lower()
    if "file is not a database" in message or "malformed" in message:
        return f"{db_path} is not a SQLite database"
    if "locked" in message:
        return f"{db_path} is locked by another process (waited {BUSY_TIMEOUT_S:g} s)"
    if "readonly" in message or "read-only" in message:
        return f"{db_path} is read-only"
    if "disk is full" in message:
        return f"the disk holding {db_path} is full"
    if "disk i/o error" in message:
        return f"disk I/O error on {db_path}"
    if "unable to open database file" in message:
        if os.path.isdir(db_path):
            return f"{db_path} is a directory, not a database file"
        parent = _deepest_existing(os.path.dirname(db_path))
        if not os.access(parent, os.W_OK):
            return f"{parent} is not writable"
        return f"cannot open {db_path}"
    return None


def _first_non_directory(path: str) -> str | None:
    """The first existing component of ``path`` (from the root down) that is no directory."""
    current = os.sep if os.path.isabs(path) else ""
    for part in path.split(os.sep):
        if not part:
            continue
        current = os.path.join(current, part)
        if not os.path.exists(current):
            return None
        if not os.path.isdir(current):
            return current
    return None


def _deepest_existing(path: str) -> str:
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _empty_store() -> sqlite3.Connection:
    """An in-memory database with the current schema and nothing in it: what a read of a
    store that does not exist yet sees."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    for statements in _MIGRATIONS:
        for statement in statements:
            conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (?)", (len(_MIGRATIONS),))
    conn.execute(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
        " creation_time) VALUES (?, ?, ?, 'active', NULL)",
        (DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME,
         f"{ARTIFACTS_DIR_NAME}/{DEFAULT_EXPERIMENT_ID}"),
    )
    return conn


def _rebuild(root_dir: str, db_path: str, uri: str) -> SQLiteBackend:
    return SQLiteBackend(root_dir, db_path, uri=uri)


class SQLiteBackend(TrackingBackend):
    """`TrackingBackend` on a local SQLite file.

    ``SQLiteBackend("path/to/store")`` keeps ``runs.db`` and ``artifacts/`` in that
    directory; ``SQLiteBackend(db_path="x/my.db")`` uses exactly that file and puts
    artifacts in ``x/artifacts``. A ``file:`` or ``sqlite:///`` URI is accepted as the
    first argument too.
    """

    def __init__(
        self, root_dir: str | None = None, db_path: str | None = None, *, uri: str | None = None
    ) -> None:
        if root_dir is None and db_path is None:
            raise InvalidInputError("SQLiteBackend needs a store directory or a db_path.")
        if root_dir is not None:
            root_dir = os.fspath(root_dir)
            if db_path is None and root_dir.startswith(("file:", "sqlite:")):
                uri = uri or root_dir
                root_dir, db_path = resolve_local_uri(root_dir)
        if db_path is not None:
            db_path = os.path.abspath(os.fspath(db_path))
            root_dir = root_dir if root_dir is not None else os.path.dirname(db_path)
        assert root_dir is not None
        self.root_dir = os.path.abspath(root_dir)
        self.db_path = db_path or os.path.join(self.root_dir, DB_FILE_NAME)
        self.artifact_root = os.path.join(self.root_dir, ARTIFACTS_DIR_NAME)
        self.uri = uri if uri is not None else self.root_dir
        self._local = threading.local()
        self._lock = threading.Lock()
        # This process's writers take turns here rather than in SQLite's busy handler,
        # which sleeps 1, 2, 5, ... ms per conflict: a run created on the caller's thread
        # while the writer commits a batch waits for that commit, not for a sleep.
        self._write_turn: tuple[int, threading.RLock] = (os.getpid(), threading.RLock())
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._generation = 0
        self._ready_pid: int | None = None
        # How messages name the store: its directory, or the file a sqlite:/// URI gave.
        default_db = os.path.join(self.root_dir, DB_FILE_NAME)
        self.location = self.root_dir if self.db_path == default_db else self.db_path

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.db_path!r})"

    def __reduce__(self):  # picklable (e.g. to a spawned process): connections are not sent
        return (_rebuild, (self.root_dir, self.db_path, self.uri))

    # -- connections and transactions ----------------------------------------------

    def _open(self, *, read_only: bool = False) -> sqlite3.Connection:
        target, as_uri = self.db_path, False
        if read_only:  # never creates the file, never writes to it
            target, as_uri = f"file:{urllib.parse.quote(self.db_path)}?mode=ro", True
        conn = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # autocommit; transactions are explicit below
            check_same_thread=False,  # used by one thread only; close() may run elsewhere
            uri=as_uri,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not read_only:
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's read-write connection; the first one in a process creates the
        store (directory, database, schema) when it does not exist yet."""
        local = self._local
        pid = os.getpid()
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == pid and local.generation == self._generation:
            return conn
        # A connection inherited from a parent process is never used nor closed here:
        # closing it could checkpoint or delete the WAL under the parent's feet.
        with self._lock, self._translating_errors():
            if self._ready_pid != pid:
                self._initialize()
                self._ready_pid = pid
            conn = self._open()
            self._connections.append((pid, conn))
            local.conn, local.pid, local.generation = conn, pid, self._generation
        return conn

    def _reader(self) -> sqlite3.Connection:
        """A connection for reading that creates nothing: the read-write one once this
        process has opened the store for writing; else a read-only one on the existing
        database; else (no database yet) an empty in-memory store, so a read of a store
        nobody wrote to sees no runs instead of creating files."""
        pid = os.getpid()
        if self._ready_pid == pid:
            return self._conn()
        local = self._local
        conn = getattr(local, "reader", None)
        if conn is not None and local.reader_pid == pid and local.reader_generation == (
            self._generation
        ):
            return conn
        if not os.path.isfile(self.db_path):
            return _empty_store()
        with self._translating_errors():
            conn = self._open(read_only=True)
            try:
                version = self._stored_schema_version(conn)
            except BaseException:
                conn.close()
                raise
        if version is None:  # an empty file: no store was written there yet
            conn.close()
            return _empty_store()
        if version != len(_MIGRATIONS):  # older: upgraded by a read-write open, as before
            conn.close()
            return self._conn()
        with self._lock:
            self._connections.append((pid, conn))
        local.reader, local.reader_pid, local.reader_generation = conn, pid, self._generation
        return conn

    def _stored_schema_version(self, conn: sqlite3.Connection) -> int | None:
        """The schema version in the database (None: no autolog schema yet); raise if
        this autolog is too old for it."""
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if found is None:
            return None
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] if row[0] is not None else 0
        if current > len(_MIGRATIONS):
            raise InvalidInputError(
                f"The store {self.db_path} has schema version {current}, newer than "
                f"this autolog understands ({len(_MIGRATIONS)}); upgrade autolog."
            )
        return current

    def require_existing(self) -> None:
        """Raise `StoreNotFoundError` unless the store exists, `StoreUnavailableError` if
        its file is no SQLite database: for tools that only read (the CLI, the UI, a sync
        source), where a mistyped path must be an error, not a new empty store."""
        if self._ready_pid == os.getpid():
            return
        if not os.path.isfile(self.db_path):
            raise StoreNotFoundError(self.location, self.db_path)
        with self._read():
            pass

    @contextlib.contextmanager
    def _translating_errors(self) -> Iterator[None]:
        """An OS or SQLite error that means the store cannot be used becomes one
        `StoreUnavailableError` naming the store and the reason; others pass as they are."""
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            self._raise_if_unusable(exc)
            raise

    def _raise_if_unusable(self, exc: BaseException) -> None:
        reason = unusable_store_reason(exc, self.root_dir, self.db_path)
        if reason is not None:
            raise StoreUnavailableError(self.location, reason) from exc

    def _initialize(self) -> None:
        os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
        # Processes creating one store at once (workers started together) can meet
        # in SQLite's deadlock avoidance, which answers "locked" at once instead of
        # waiting: try again until the usual lock wait is over.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._create_schema()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)
        # Only once the database is known good: a broken store gets no stray directory.
        os.makedirs(self.artifact_root, exist_ok=True)

    def _create_schema(self) -> None:
        conn = self._open()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                current = self._stored_schema_version(conn) or 0
                for statements in _MIGRATIONS[current:]:
                    for statement in statements:
                        conn.execute(statement)
                if current < len(_MIGRATIONS):
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version VALUES (?)", (len(_MIGRATIONS),))
                conn.execute(
                    "INSERT OR IGNORE INTO experiments (experiment_id, name, artifact_location,"
                    " lifecycle_stage, creation_time) VALUES (?, ?, ?, 'active', ?)",
                    (
                        DEFAULT_EXPERIMENT_ID,
                        DEFAULT_EXPERIMENT_NAME,
                        f"{ARTIFACTS_DIR_NAME}/{DEFAULT_EXPERIMENT_ID}",
                        _now_ms(),
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: all of it is written, or none of it."""
        conn = self._conn()
        pid, turn = self._write_turn
        if pid != os.getpid():  # forked: the parent's lock may have been held at fork
            self._write_turn = pid, turn = os.getpid(), threading.RLock()
        with turn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (OSError, sqlite3.Error) as exc:  # inline: this path is hot
                self._raise_if_unusable(exc)
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one snapshot. Creates nothing."""
        conn = self._reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:  # inline: this path is hot
            self._raise_if_unusable(exc)
            raise

    def close(self) -> None:
        pid = os.getpid()
        with self._lock:
            self._generation += 1
            kept = []
            for owner, conn in self._connections:
                if owner == pid:
                    conn.close()
                else:
                    kept.append((owner, conn))  # a parent's: leave it alone
            self._connections = kept
            self._ready_pid = None

    def schema_version(self) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0])

    def _absolute(self, location: str) -> str:
        # Relative locations are inside the store; an absolute one (custom) stays as is.
        return location if os.path.isabs(location) else f"{self.root_dir}{os.sep}{location}"

    # -- experiments ---------------------------------------------------------------

    def _experiment(self, conn: sqlite3.Connection, row: tuple) -> Experiment:
        experiment_id, name, location, stage, created = row
        tags = dict(
            conn.execute(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = ?", (experiment_id,)
            ).fetchall()
        )
        return Experiment(experiment_id, name, self._absolute(location), stage, tags, created)

    _EXPERIMENT_COLUMNS = "experiment_id, name, artifact_location, lifecycle_stage, creation_time"

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(
                f"Invalid experiment name {name!r}: expected a non-empty string."
            )
        try:
            with self._write() as conn:
                if conn.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone():
                    raise ResourceAlreadyExistsError(f"Experiment {name!r} already exists.")
                (experiment_id,) = conn.execute(
                    "SELECT CAST(COALESCE(MAX(CAST(experiment_id AS INTEGER)), 0) + 1 AS TEXT)"
                    " FROM experiments"
                ).fetchone()
                location = (
                    resolve_local_uri(artifact_location)[0]
                    if artifact_location
                    else f"{ARTIFACTS_DIR_NAME}/{experiment_id}"
                )
                conn.execute(
                    f"INSERT INTO experiments ({self._EXPERIMENT_COLUMNS})"
                    " VALUES (?, ?, ?, 'active', ?)",
                    (experiment_id, name, location, _now_ms()),
                )
                conn.executemany(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                    [(experiment_id, k, str(v)) for k, v in (tags or {}).items()],
                )
        except sqlite3.IntegrityError as exc:  # another process won the race
            raise ResourceAlreadyExistsError(f"Experiment {name!r} already exists.") from exc
        return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {self._EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?",
                (str(experiment_id),),
            ).fetchone()
            if row is None:
                raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}.")
            return self._experiment(conn, row)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {self._EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?", (name,)
            ).fetchone()
            return None if row is None else self._experiment(conn, row)

    def search_experiments(self) -> list[Experiment]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {self._EXPERIMENT_COLUMNS} FROM experiments"
                " WHERE lifecycle_stage = 'active' ORDER BY CAST(experiment_id AS INTEGER)"
            ).fetchall()
            return [self._experiment(conn, row) for row in rows]

    # -- runs ----------------------------------------------------------------------

    def _run_info(self, row: tuple) -> RunInfo:
        run_id, experiment_id, name, status, start, end, artifact_uri, stage = row
        return RunInfo(
            run_id, experiment_id, name, status, start, end, self._absolute(artifact_uri), stage
        )

    def _require_run(self, conn: sqlite3.Connection, run_id: str) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
            raise ResourceNotFoundError(f"No run with id {run_id!r}.")

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        start_time: int,
        tags: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        run_id = _local.check_run_id(run_id) if run_id else uuid.uuid4().hex
        row = (
            run_id,
            str(experiment_id),
            run_name or f"run-{run_id[:8]}",
            RunStatus.RUNNING,
            int(start_time),
            None,
        )
        try:
            with self._write() as conn:
                found = conn.execute(
                    "SELECT artifact_location FROM experiments WHERE experiment_id = ?",
                    (str(experiment_id),),
                ).fetchone()
                if found is None:
                    raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}.")
                artifact_uri = f"{found[0].rstrip('/')}/{run_id}"
                conn.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'active')",
                    (*row, artifact_uri),
                )
                conn.executemany(
                    "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                    [(run_id, k, str(v)) for k, v in (tags or {}).items()],
                )
        except sqlite3.IntegrityError as exc:
            raise ResourceAlreadyExistsError(f"Run {run_id!r} already exists.") from exc
        return self._run_info((*row, artifact_uri, LifecycleStage.ACTIVE))

    def update_run_info(self, run_id: str, status: str, end_time: int | None) -> RunInfo:
        if status not in RunStatus.ALL:
            raise InvalidInputError(
                f"Invalid run status {status!r}; accepted: {', '.join(RunStatus.ALL)}."
            )
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                (status, end_time, run_id),
            )
            if status in RunStatus.TERMINAL:  # the run's final values, linked to its models
                models = [m for (m,) in conn.execute(
                    "SELECT model_id FROM logged_models WHERE run_id = ?", (run_id,))]
                if models:
                    self._link_run(conn, run_id, models)
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        return self._run_info(row)

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise ResourceNotFoundError(f"No run with id {run_id!r}.")
            key = (run_id,)
            params = conn.execute("SELECT key, value FROM params WHERE run_id = ?", key)
            tags = conn.execute("SELECT key, value FROM tags WHERE run_id = ?", key)
            data = RunData(params=dict(params.fetchall()), tags=dict(tags.fetchall()))
            for name, value, is_nan in conn.execute(
                "SELECT key, value, is_nan FROM latest_metrics WHERE run_id = ?", key
            ):
                data.metrics[name] = float("nan") if is_nan else value
            inputs = self._inputs(conn, run_id)
        return Run(self._run_info(row), data, RunInputs(inputs))

    def delete_run(self, run_id: str) -> None:
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_id = ?", (run_id,))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        metric_rows = []
        latest: dict[str, tuple] = {}
        for metric in metrics:
            value = float(metric.value)
            nan = value != value
            row = (
                run_id,
                metric.key,
                0.0 if nan else value,
                int(nan),
                int(metric.timestamp),
                int(metric.step),
            )
            metric_rows.append(row)
            best = latest.get(metric.key)
            if best is None or (row[5], row[4]) >= (best[5], best[4]):
                latest[metric.key] = row
        with self._write() as conn:
            self._require_run(conn, run_id)
            if params:
                existing = dict(
                    conn.execute("SELECT key, value FROM params WHERE run_id = ?", (run_id,))
                )
                new: dict[str, str] = {}
                for param in params:
                    old = new.get(param.key, existing.get(param.key))
                    if old is not None and old != param.value:
                        raise InvalidInputError(
                            f"param {param.key!r} already logged with value {old!r} for run "
                            f"{run_id}; cannot change it to {param.value!r}"
                        )
                    new[param.key] = param.value
                conn.executemany(
                    "INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)",
                    [(run_id, k, v) for k, v in new.items() if k not in existing],
                )
            if tags:
                conn.executemany(
                    "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    [(run_id, tag.key, tag.value) for tag in tags],
                )
            if metric_rows:
                conn.executemany(
                    "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    metric_rows,
                )
                conn.executemany(_LATEST_UPSERT, latest.values())

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                "SELECT value, is_nan, timestamp, step FROM metrics WHERE run_id = ? AND key = ?"
                " ORDER BY step, timestamp, rowid",
                (run_id, key),
            ).fetchall()
        nan = float("nan")
        return [Metric(key, nan if is_nan else value, ts, step) for value, is_nan, ts, step in rows]

    def get_metric_series(
        self, run_id: str, key: str
    ) -> tuple[list[int], list[int], list[float]]:
        # Columns straight from the cursor: no Metric object per point (1M points: ~4x).
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_id = ? AND key = ?"
                " ORDER BY step, timestamp, rowid",
                (run_id, key),
            ).fetchall()
        if not rows:
            return [], [], []
        # map(itemgetter) builds no tuples (zip(*rows) does, and the GC then walks them).
        steps = list(map(itemgetter(0), rows))
        stamps = list(map(itemgetter(1), rows))
        values = list(map(itemgetter(2), rows))
        if any(map(itemgetter(3), rows)):
            nan = float("nan")
            values = [nan if row[3] else row[2] for row in rows]
        return steps, stamps, values

    def count_runs(self, experiment_id: str) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE experiment_id = ? AND lifecycle_stage = 'active'",
                (str(experiment_id),),
            ).fetchone()
        return int(row[0])

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        # Two passes keep this fast for many runs: first the runs table and only the
        # params/metrics/tags that the filter and order name, to filter, sort and cut to
        # max_results; then everything about the runs on that page.
        comparisons = search.parse_filter(filter_string)  # bad input fails before any I/O
        order_keys = search.parse_order_by(order_by)
        ids = [str(e) for e in experiment_ids]
        if not ids:
            return []
        needed: dict[str, set[str]] = {"params": set(), "tags": set(), "latest_metrics": set()}
        for entity, key in [(c.entity, c.key) for c in comparisons] + [
            (entity, key) for entity, key, _ in order_keys
        ]:
            if entity != "attributes":
                needed["latest_metrics" if entity == "metrics" else entity].add(key)
        marks = ", ".join("?" * len(ids))
        where = f"r.experiment_id IN ({marks}) AND r.lifecycle_stage = 'active'"
        with self._read() as conn:
            runs: dict[str, Run] = {}
            for row in conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs r WHERE {where}", ids):
                runs[row[0]] = Run(self._run_info(row), RunData())
            for table, keys in needed.items():
                if keys:
                    key_marks = ", ".join("?" * len(keys))
                    self._load_data(
                        conn,
                        runs,
                        table,
                        f"JOIN runs r ON r.run_id = t.run_id WHERE {where}"
                        f" AND t.key IN ({key_marks})",
                        [*ids, *keys],
                    )
            selected = [run for run in runs.values() if search.matches(run, comparisons)]
            page = search.search_runs(selected, None, order_by, max_results)
            page_runs = {}
            for run in page:
                run.data = RunData()
                page_runs[run.info.run_id] = run
            run_ids = list(page_runs)
            for i in range(0, len(run_ids), 500):
                chunk = run_ids[i : i + 500]
                chunk_where = f"WHERE t.run_id IN ({', '.join('?' * len(chunk))})"
                for table in needed:
                    self._load_data(conn, page_runs, table, chunk_where, chunk)
        return page

    @staticmethod
    def _load_data(
        conn: sqlite3.Connection, runs: dict[str, Run], table: str, condition: str, args: list
    ) -> None:
        if table == "latest_metrics":
            for run_id, key, value, is_nan in conn.execute(
                f"SELECT t.run_id, t.key, t.value, t.is_nan FROM latest_metrics t {condition}",
                args,
            ):
                runs[run_id].data.metrics[key] = float("nan") if is_nan else value
        else:
            for run_id, key, value in conn.execute(
                f"SELECT t.run_id, t.key, t.value FROM {table} t {condition}", args
            ):
                getattr(runs[run_id].data, table)[key] = value

    # -- dataset inputs and logged models (MLflow 3's entities) --------------------

    _INPUT_COLUMNS = "name, digest, source_type, source, schema, profile, context, tags"

    @classmethod
    def _inputs(cls, conn: sqlite3.Connection, run_id: str) -> list[DatasetInput]:
        import json

        return [
            DatasetInput(name, digest, source_type, source, schema, profile, context or None,
                         json.loads(tags or "{}"))
            for name, digest, source_type, source, schema, profile, context, tags
            in conn.execute(f"SELECT {cls._INPUT_COLUMNS} FROM run_inputs WHERE run_id = ?"
                            " ORDER BY rowid", (run_id,))
        ]

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        import json

        rows = [(run_id, d.name, d.digest, d.context or "", d.source_type, d.source, d.schema,
                 d.profile, json.dumps(dict(d.tags), sort_keys=True)) for d in datasets]
        if not rows:
            return
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.executemany(
                "INSERT OR IGNORE INTO run_inputs (run_id, name, digest, context, source_type,"
                " source, schema, profile, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def get_inputs(self, run_id: str) -> list[DatasetInput]:
        with self._read() as conn:
            self._require_run(conn, run_id)
            return self._inputs(conn, run_id)

    _MODEL_COLUMNS = ("m.model_id, m.experiment_id, m.run_id, m.name, m.artifact_path,"
                      " m.status, m.creation_time, m.last_updated_time, m.model_type,"
                      " m.flavor, r.artifact_uri")

    def create_logged_model(
        self,
        run_id: str,
        name: str,
        artifact_path: str | None = None,
        *,
        flavor: str | None = None,
        model_type: str | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
    ) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        now = _now_ms()
        with self._write() as conn:
            found = conn.execute(
                "SELECT experiment_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if found is None:
                raise ResourceNotFoundError(f"No run with id {run_id!r}.")
            conn.execute(
                "INSERT INTO logged_models (model_id, experiment_id, run_id, name,"
                " artifact_path, status, creation_time, last_updated_time, model_type, flavor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, str(experiment_id or found[0]), run_id, name, artifact_path,
                 LoggedModelStatus.PENDING, now, now, model_type, flavor),
            )
            conn.executemany(
                "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)",
                [(model_id, str(k), str(v)) for k, v in (tags or {}).items()])
            conn.executemany(
                "INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)",
                [(model_id, str(k), str(v)) for k, v in (params or {}).items()])
        return self.get_logged_model(model_id)

    def _link_run(self, conn: sqlite3.Connection, run_id: str, model_ids: list[str]) -> None:
        """The run's params and latest metrics, linked to its logged models."""
        latest = [
            Metric(key, float("nan") if is_nan else value, timestamp, step)
            for key, value, is_nan, timestamp, step in conn.execute(
                "SELECT key, value, is_nan, timestamp, step FROM latest_metrics"
                " WHERE run_id = ? ORDER BY key", (run_id,))
        ]
        metrics = linked_metrics(run_id, latest, self._inputs(conn, run_id))
        for model_id in model_ids:
            conn.execute(
                "INSERT OR IGNORE INTO logged_model_params (model_id, key, value)"
                " SELECT ?, key, value FROM params WHERE run_id = ?", (model_id, run_id))
            self._insert_model_metrics(conn, model_id, metrics)

    @staticmethod
    def _insert_model_metrics(conn: sqlite3.Connection, model_id: str,
                              metrics: Sequence[ModelMetric]) -> None:
        rows = []
        for m in metrics:
            value = float(m.value)
            nan = value != value
            rows.append((model_id, m.key, 0.0 if nan else value, int(nan), int(m.timestamp),
                         int(m.step), m.dataset_name or "", m.dataset_digest or "", m.run_id))
        conn.executemany(
            "INSERT OR IGNORE INTO logged_model_metrics (model_id, key, value, is_nan,"
            " timestamp, step, dataset_name, dataset_digest, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _require_logged_model(self, conn: sqlite3.Connection, model_id: str) -> tuple:
        row = conn.execute(
            "SELECT run_id FROM logged_models WHERE model_id = ?", (model_id,)).fetchone()
        if row is None:
            raise ResourceNotFoundError(f"No logged model with id {model_id!r}.")
        return row

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        if status not in LoggedModelStatus.ALL:
            raise InvalidInputError(
                f"Invalid logged model status {status!r}; accepted: "
                f"{', '.join(LoggedModelStatus.ALL)}.")
        with self._write() as conn:
            (run_id,) = self._require_logged_model(conn, model_id)
            conn.execute(
                "UPDATE logged_models SET status = ?, last_updated_time = ? WHERE model_id = ?",
                (status, _now_ms(), model_id))
            if run_id is not None and status == LoggedModelStatus.READY:
                self._link_run(conn, run_id, [model_id])
        return self.get_logged_model(model_id)

    def log_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        with self._write() as conn:
            self._require_logged_model(conn, model_id)
            self._insert_model_metrics(conn, model_id, metrics)

    def _logged_models(self, conn: sqlite3.Connection, where: str,
                       args: Sequence) -> list[LoggedModel]:
        rows = conn.execute(
            f"SELECT {self._MODEL_COLUMNS} FROM logged_models m"
            f" LEFT JOIN runs r ON r.run_id = m.run_id WHERE {where}"
            " ORDER BY m.creation_time, m.rowid", list(args)).fetchall()
        models = []
        for (model_id, experiment_id, run_id, name, artifact_path, status, created, updated,
             model_type, flavor, run_artifacts) in rows:
            location = ""
            if run_artifacts is not None and artifact_path:
                location = f"{self._absolute(run_artifacts).rstrip('/')}/{artifact_path}"
            key = (model_id,)
            nan = float("nan")
            models.append(LoggedModel(
                model_id=model_id, experiment_id=experiment_id, name=name,
                source_run_id=run_id, artifact_path=artifact_path,
                artifact_location=location, status=status, creation_timestamp=created,
                last_updated_timestamp=updated, model_type=model_type, flavor=flavor,
                tags=dict(conn.execute(
                    "SELECT key, value FROM logged_model_tags WHERE model_id = ?", key)),
                params=dict(conn.execute(
                    "SELECT key, value FROM logged_model_params WHERE model_id = ?", key)),
                metrics=[
                    ModelMetric(k, nan if is_nan else v, ts, step, dn or None, dd or None, rid)
                    for k, v, is_nan, ts, step, dn, dd, rid in conn.execute(
                        "SELECT key, value, is_nan, timestamp, step, dataset_name,"
                        " dataset_digest, run_id FROM logged_model_metrics WHERE model_id = ?"
                        " ORDER BY key, step, timestamp", key)
                ],
            ))
        return models

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self._read() as conn:
            found = self._logged_models(conn, "m.model_id = ?", (model_id,))
        if not found:
            raise ResourceNotFoundError(f"No logged model with id {model_id!r}.")
        return found[0]

    def search_logged_models(
        self, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None
    ) -> list[LoggedModel]:
        clauses, args = [], []
        if experiment_ids is not None:
            ids = [str(e) for e in experiment_ids]
            if not ids:
                return []
            clauses.append(f"m.experiment_id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        if source_run_id is not None:
            clauses.append("m.run_id = ?")
            args.append(source_run_id)
        with self._read() as conn:
            return self._logged_models(conn, " AND ".join(clauses) or "1", args)

    # -- artifacts -----------------------------------------------------------------

    def _artifact_dir(self, run_id: str) -> str:
        with self._read() as conn:
            row = conn.execute(
                "SELECT artifact_uri FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise ResourceNotFoundError(f"No run with id {run_id!r}.")
        return self._absolute(row[0])

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str = "") -> None:
        directory = self._artifact_dir(run_id)
        try:
            _local.log_artifact(directory, local_path, artifact_path, run_id=run_id)
        except OSError as exc:
            # Writing into the store failed (not reading the caller's file): the store's
            # one clear error, shared by every artifact that meets it.
            written = os.path.abspath(exc.filename) if exc.filename else ""
            if not any(_local._inside(written, root) for root in (directory, self.root_dir)):
                raise
            reason = unusable_store_reason(exc, self.root_dir, self.db_path)
            raise StoreUnavailableError(self.location, reason) from exc

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        return _local.list_artifacts(self._artifact_dir(run_id), path, run_id=run_id)

    def download_artifacts(self, run_id: str, path: str, dst_dir: str) -> str:
        return _local.download_artifacts(self._artifact_dir(run_id), path, dst_dir, run_id=run_id)

    def artifact_local_path(self, run_id: str, path: str = "") -> str | None:
        return _local.local_path(self._artifact_dir(run_id), path, run_id=run_id)

    # -- model registry ------------------------------------------------------------

    @staticmethod
    def _require_model(conn: sqlite3.Connection, name: str) -> tuple:
        row = conn.execute(
            "SELECT name, creation_timestamp, last_updated_timestamp, description"
            " FROM registered_models WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise ResourceNotFoundError(f"No registered model named {name!r}.")
        return row

    @staticmethod
    def _require_version(conn: sqlite3.Connection, name: str, version: object) -> int:
        number = _local.version_number(name, version)
        SQLiteBackend._require_model(conn, name)
        found = conn.execute(
            "SELECT 1 FROM model_versions WHERE name = ? AND version = ?", (name, number)
        ).fetchone()
        if found is None:
            raise ResourceNotFoundError(f"No version {version} of registered model {name!r}.")
        return number

    @staticmethod
    def _versions(
        conn: sqlite3.Connection, where: str = "", args: tuple = ()
    ) -> list[ModelVersion]:
        clause = f" WHERE {where}" if where else ""
        rows = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions{clause} ORDER BY name, version DESC",
            args,
        ).fetchall()
        if not rows:
            return []
        aliases: dict[tuple[str, int], list[str]] = {}
        for name, alias, version in conn.execute(
            f"SELECT name, alias, version FROM registered_model_aliases{clause} ORDER BY alias",
            args,
        ):
            aliases.setdefault((name, version), []).append(alias)
        tags: dict[tuple[str, int], dict[str, str]] = {}
        for name, version, key, value in conn.execute(
            f"SELECT name, version, key, value FROM model_version_tags{clause}", args
        ):
            tags.setdefault((name, version), {})[key] = value
        return [
            ModelVersion(
                name=name,
                version=str(version),
                source=source,
                run_id=run_id,
                current_stage=stage,
                creation_timestamp=created,
                last_updated_timestamp=updated,
                description=description,
                status=status,
                aliases=aliases.get((name, version), []),
                tags=tags.get((name, version), {}),
            )
            for name, version, source, run_id, stage, created, updated, description, status in rows
        ]

    def _registered_model(self, conn: sqlite3.Connection, row: tuple) -> RegisteredModel:
        name, created, updated, description = row
        versions = self._versions(conn, "name = ?", (name,))
        latest: dict[str, ModelVersion] = {}
        for version in reversed(versions):  # ascending: the last one per stage wins
            latest[version.current_stage] = version
        tags = dict(
            conn.execute("SELECT key, value FROM registered_model_tags WHERE name = ?", (name,))
        )
        aliases = {
            alias: str(version)
            for alias, version in conn.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias",
                (name,),
            )
        }
        return RegisteredModel(
            name=name,
            creation_timestamp=created,
            last_updated_timestamp=updated,
            description=description,
            tags=tags,
            aliases=aliases,
            latest_versions=sorted(latest.values(), key=lambda v: int(v.version)),
        )

    def create_registered_model(
        self, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        _local.check_model_name(name)
        now = _now_ms()
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO registered_models VALUES (?, ?, ?, ?)",
                    (name, now, now, description or ""),
                )
                conn.executemany(
                    "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                    [(name, k, str(v)) for k, v in (tags or {}).items()],
                )
        except sqlite3.IntegrityError as exc:
            raise ResourceAlreadyExistsError(f"Registered model {name!r} already exists.") from exc
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._read() as conn:
            return self._registered_model(conn, self._require_model(conn, name))

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        comparisons = search.parse_field_filter(
            filter_string, _local.REGISTERED_MODEL_FILTER_FIELDS, "registered model filter"
        )
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, creation_timestamp, last_updated_timestamp, description"
                " FROM registered_models ORDER BY name"
            ).fetchall()
            return [
                self._registered_model(conn, row)
                for row in rows
                if search.matches_fields({"name": row[0]}, comparisons)
            ]

    def create_model_version(
        self, name: str, source: str, run_id: str | None, description: str = ""
    ) -> ModelVersion:
        _local.check_model_name(name)
        now = _now_ms()
        with self._write() as conn:
            # Registering creates the model if needed, as MLflow's register_model does.
            conn.execute(
                "INSERT OR IGNORE INTO registered_models VALUES (?, ?, ?, '')", (name, now, now)
            )
            (number,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?", (name,)
            ).fetchone()
            conn.execute(
                f"INSERT INTO model_versions ({_VERSION_COLUMNS})"
                " VALUES (?, ?, ?, ?, 'None', ?, ?, ?, 'READY')",
                (name, number, source, run_id, now, now, description or ""),
            )
            conn.execute(
                "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?",
                (now, name),
            )
        return self.get_model_version(name, str(number))

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        with self._read() as conn:
            number = self._require_version(conn, name, version)
            return self._versions(conn, "name = ? AND version = ?", (name, number))[0]

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        comparisons = search.parse_field_filter(
            filter_string, _local.MODEL_VERSION_FILTER_FIELDS, "model version filter"
        )
        with self._read() as conn:
            versions = self._versions(conn)
        return [
            v
            for v in versions
            if search.matches_fields(
                {"name": v.name, "run_id": v.run_id, "source": v.source, "version": v.version},
                comparisons,
            )
        ]

    def update_model_version(
        self,
        name: str,
        version: str,
        *,
        stage: str | None = None,
        description: str | None = None,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        canonical = _local.canonical_stage(stage) if stage is not None else None
        now = _now_ms()
        with self._write() as conn:
            number = self._require_version(conn, name, version)
            if canonical is not None:
                if archive_existing_versions and canonical in ("Staging", "Production"):
                    conn.execute(
                        "UPDATE model_versions SET current_stage = 'Archived',"
                        " last_updated_timestamp = ?"
                        " WHERE name = ? AND current_stage = ? AND version != ?",
                        (now, name, canonical, number),
                    )
                conn.execute(
                    "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ?"
                    " WHERE name = ? AND version = ?",
                    (canonical, now, name, number),
                )
            if description is not None:
                conn.execute(
                    "UPDATE model_versions SET description = ?, last_updated_timestamp = ?"
                    " WHERE name = ? AND version = ?",
                    (description, now, name, number),
                )
            conn.execute(
                "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?",
                (now, name),
            )
        return self.get_model_version(name, str(number))

    def delete_model_version(self, name: str, version: str) -> None:
        with self._write() as conn:
            number = self._require_version(conn, name, version)
            for table in ("model_versions", "model_version_tags", "registered_model_aliases"):
                conn.execute(f"DELETE FROM {table} WHERE name = ? AND version = ?", (name, number))

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        if not isinstance(alias, str) or not alias.strip():
            raise InvalidInputError(f"Invalid alias {alias!r}: expected a non-empty string.")
        with self._write() as conn:
            number = self._require_version(conn, name, version)
            conn.execute(
                "INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)"
                " ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                (name, alias, number),
            )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        with self._write() as conn:
            self._require_model(conn, name)
            deleted = conn.execute(
                "DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
            ).rowcount
            if not deleted:
                raise ResourceNotFoundError(f"Registered model {name!r} has no alias {alias!r}.")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self._read() as conn:
            self._require_model(conn, name)
            row = conn.execute(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                raise ResourceNotFoundError(f"Registered model {name!r} has no alias {alias!r}.")
            return self._versions(conn, "name = ? AND version = ?", (name, row[0]))[0]
