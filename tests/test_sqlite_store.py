"""The embedded SQLite store: schema versions, URIs, several threads and processes."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import sys
import textwrap
import threading
import time

import pytest

from autolog.backends import get_backend
from autolog.backends import sqlite as sqlite_module
from autolog.backends.memory import MemoryBackend
from autolog.backends.sqlite import _MIGRATIONS, SQLiteBackend
from autolog.core.entities import Metric, Param
from autolog.core.errors import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    StoreNotFoundError,
    StoreUnavailableError,
)

# -- schema ----------------------------------------------------------------------------


def test_schema_version_recorded_and_wal_mode(tmp_path):
    store = SQLiteBackend(str(tmp_path))
    store.create_experiment("created by the first write")
    assert store.schema_version() == len(_MIGRATIONS)
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (len(_MIGRATIONS),)
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"experiments", "runs", "params", "tags", "metrics", "latest_metrics"} <= tables
    assert {"registered_models", "model_versions", "registered_model_aliases"} <= tables
    assert "metrics_by_run_key" in tables
    # Opening again changes nothing.
    store.close()
    assert SQLiteBackend(str(tmp_path)).schema_version() == len(_MIGRATIONS)


def _make_db_at_version(path, version):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
    for statements in _MIGRATIONS[:version]:
        for statement in statements:
            conn.execute(statement)
    conn.commit()
    return conn


def test_migrations_bring_an_old_db_up_to_date(tmp_path):
    conn = _make_db_at_version(tmp_path / "runs.db", 1)  # before the registry existed
    conn.execute("INSERT INTO experiments VALUES ('0', 'Default', 'artifacts/0', 'active', 1)")
    conn.execute(
        "INSERT INTO runs VALUES ('old', '0', 'old-run', 'FINISHED', 5, 6, 'artifacts/0/old',"
        " 'active')"
    )
    conn.execute("INSERT INTO params VALUES ('old', 'C', '1')")
    conn.commit()
    conn.close()

    store = SQLiteBackend(str(tmp_path))
    assert store.get_run("old").data.params == {"C": "1"}
    assert store.schema_version() == len(_MIGRATIONS)
    assert store.create_model_version("m", "s", "old").version == "1"


def test_migrations_from_version_zero(tmp_path):
    _make_db_at_version(tmp_path / "runs.db", 0).close()
    store = SQLiteBackend(str(tmp_path))
    assert store.get_experiment("0").name == "Default"
    assert store.schema_version() == len(_MIGRATIONS)


def test_a_new_migration_is_one_list_entry(tmp_path, monkeypatch):
    SQLiteBackend(str(tmp_path)).search_experiments()
    extra = ("ALTER TABLE runs ADD COLUMN user TEXT",)
    monkeypatch.setattr(sqlite_module, "_MIGRATIONS", [*_MIGRATIONS, extra])
    store = SQLiteBackend(str(tmp_path))
    assert store.schema_version() == len(_MIGRATIONS) + 1
    columns = [row[1] for row in store._conn().execute("PRAGMA table_info(runs)")]
    assert "user" in columns


def test_a_failing_migration_leaves_the_db_unchanged(tmp_path, monkeypatch):
    _make_db_at_version(tmp_path / "runs.db", 1).close()
    broken = (*_MIGRATIONS[1], "THIS IS NOT SQL")
    monkeypatch.setattr(sqlite_module, "_MIGRATIONS", [_MIGRATIONS[0], broken])
    with pytest.raises(sqlite3.OperationalError):
        SQLiteBackend(str(tmp_path)).search_experiments()
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (1,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "registered_models" not in tables


def test_a_newer_db_is_refused(tmp_path):
    _make_db_at_version(tmp_path / "runs.db", 0).close()
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(InvalidInputError, match="schema version 99"):
        SQLiteBackend(str(tmp_path)).search_experiments()


def test_pickles_without_its_connections(tmp_path):
    import pickle

    store = get_backend("sqlite:///" + str(tmp_path / "x.db"))
    run_id = store.create_run("0", None, 1).run_id
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.db_path, copy.uri, copy.artifact_root) == (
        store.db_path,
        store.uri,
        store.artifact_root,
    )
    assert copy.get_run(run_id).info.run_id == run_id


def test_the_store_can_be_moved(tmp_path):
    store = SQLiteBackend(str(tmp_path / "a"))
    run_id = store.create_run("0", None, 1).run_id
    src = tmp_path / "f.txt"
    src.write_text("x")
    store.log_artifact(run_id, str(src))
    store.close()
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    moved = SQLiteBackend(str(tmp_path / "b"))
    assert moved.get_run(run_id).info.artifact_uri.startswith(str(tmp_path / "b"))
    assert [f.path for f in moved.list_artifacts(run_id)] == ["f.txt"]


# -- URIs ------------------------------------------------------------------------------


def test_get_backend_local_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = get_backend(None)
    assert isinstance(default, SQLiteBackend)
    assert default.db_path == str(tmp_path / "autolog-runs" / "runs.db")
    assert get_backend("").root_dir == str(tmp_path / "autolog-runs")

    plain = get_backend("stores/one")
    assert (plain.root_dir, plain.uri) == (str(tmp_path / "stores" / "one"), "stores/one")
    assert get_backend("file:stores/two").root_dir == str(tmp_path / "stores" / "two")
    assert get_backend(f"file://{tmp_path}/three").root_dir == str(tmp_path / "three")
    assert get_backend(f"file:{tmp_path}/four").root_dir == str(tmp_path / "four")

    relative = get_backend("sqlite:///dbs/my.db")
    assert relative.db_path == str(tmp_path / "dbs" / "my.db")
    assert relative.artifact_root == str(tmp_path / "dbs" / "artifacts")
    absolute = get_backend(f"sqlite:///{tmp_path}/abs/x.db")  # four slashes: absolute
    assert absolute.db_path == str(tmp_path / "abs" / "x.db")
    run_id = absolute.create_run("0", None, 1).run_id
    assert os.path.isfile(tmp_path / "abs" / "x.db")
    assert absolute.get_run(run_id).info.artifact_uri.startswith(
        str(tmp_path / "abs" / "artifacts")
    )
    assert SQLiteBackend("sqlite:///dbs/my.db").db_path == relative.db_path

    for bad in ("sqlite://", "sqlite:///", "sqlite:///:memory:", "file://otherhost/x"):
        with pytest.raises(InvalidInputError):
            get_backend(bad)


def test_get_backend_memory_is_shared_per_name():
    first = get_backend("memory:")
    assert isinstance(first, MemoryBackend)
    assert get_backend("memory:") is first
    named = get_backend("memory:test-shared")
    assert named is not first and get_backend("memory:test-shared") is named
    first.create_run("0", None, 1)


def test_get_backend_mlflow_needs_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "autolog.backends.mlflow", None)  # import fails
    with pytest.raises(InvalidInputError, match=r"pip install autolog\[mlflow\]"):
        get_backend("mlflow+http://localhost:5000")


def test_get_backend_unknown_scheme():
    with pytest.raises(InvalidInputError) as caught:
        get_backend("bogus://host/x")
    message = str(caught.value)
    assert "'bogus'" in message and "memory:" in message and "sqlite:" in message


def test_get_backend_entry_point_plugin(tmp_path, monkeypatch):
    dist = tmp_path / "fakeplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[autolog.backends]\nfakeplug = fakeplug_backend:FakeBackend\n"
        "brokenplug = fakeplug_backend:Missing\n"
    )
    (tmp_path / "fakeplug_backend.py").write_text(
        textwrap.dedent(
            """
            from autolog.backends.memory import MemoryBackend

            class FakeBackend(MemoryBackend):
                def __init__(self, uri):
                    super().__init__(uri)
                    self.constructed_with = uri
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakeplug_backend", raising=False)
    backend = get_backend("fakeplug://somewhere/x?y=1")
    assert type(backend).__name__ == "FakeBackend"
    assert backend.constructed_with == "fakeplug://somewhere/x?y=1"
    assert get_backend("FakePlug:other").constructed_with == "FakePlug:other"
    with pytest.raises(InvalidInputError, match="brokenplug.*failed to load"):
        get_backend("brokenplug://x")
    with pytest.raises(InvalidInputError, match="fakeplug"):  # listed among the accepted
        get_backend("nope://x")


# -- threads and processes -------------------------------------------------------------


def test_threads_share_a_store(tmp_path):
    store = SQLiteBackend(str(tmp_path))
    run_id = store.create_run("0", None, 1).run_id
    errors = []

    def work(t):
        try:
            for i in range(20):
                store.log_batch(
                    run_id, [Metric("m", float(i), i, t * 100 + i)], [Param(f"p{t}-{i}", "v")]
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.get_metric_history(run_id, "m")) == 80
    assert len(store.get_run(run_id).data.params) == 80
    store.close()
    assert len(store.get_run(run_id).data.params) == 80  # reopens after close


def _forked_child(store, run_id):
    store.log_batch(run_id, [Metric("from_child", 1.0, 1, 0)])
    os._exit(0 if store._conn() is not None else 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(tmp_path):
    store = SQLiteBackend(str(tmp_path))
    run_id = store.create_run("0", None, 1).run_id
    parent_conn = store._conn()
    process = multiprocessing.get_context("fork").Process(
        target=_forked_child, args=(store, run_id)
    )
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert store._conn() is parent_conn
    assert store.get_run(run_id).data.metrics == {"from_child": 1.0}


def _register_many(root, count, barrier):
    store = SQLiteBackend(root)
    store.search_experiments()
    barrier.wait(30)
    versions = [
        store.create_model_version("shared-model", "src", None).version for _ in range(count)
    ]
    return os.getpid(), versions


def _create_experiment(root, barrier):
    store = SQLiteBackend(root)
    store.search_experiments()
    barrier.wait(30)
    try:
        return store.create_experiment("same-name")
    except ResourceAlreadyExistsError:
        return store.get_experiment_by_name("same-name").experiment_id


@pytest.fixture(scope="module")
def spawn_pool():
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        yield pool


def test_two_processes_register_the_same_model(tmp_path, spawn_pool):
    root = str(tmp_path)
    SQLiteBackend(root).search_experiments()
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)  # both start together, in two processes
        results = [spawn_pool.apply_async(_register_many, (root, 20, barrier)) for _ in range(2)]
        outcomes = [result.get(60) for result in results]
    assert len({pid for pid, _ in outcomes}) == 2
    versions = [v for _, batch in outcomes for v in batch]
    assert sorted(int(v) for v in versions) == list(range(1, 41))
    found = SQLiteBackend(root).search_model_versions("name = 'shared-model'")
    assert len(found) == 40


def test_two_processes_create_the_same_experiment(tmp_path, spawn_pool):
    root = str(tmp_path)
    SQLiteBackend(root).search_experiments()
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)
        results = [spawn_pool.apply_async(_create_experiment, (root, barrier)) for _ in range(2)]
        ids = {result.get(60) for result in results}
    assert len(ids) == 1
    names = [e.name for e in SQLiteBackend(root).search_experiments()]
    assert names == ["Default", "same-name"]


# -- reads never create; an unusable store says why (issue 15, defects 9 and 10) ---------


def _listing(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_reads_of_a_missing_store_see_an_empty_store_and_create_nothing(tmp_path):
    store = SQLiteBackend(str(tmp_path / "not-yet"))
    assert [e.name for e in store.search_experiments()] == ["Default"]
    assert store.get_experiment_by_name("x") is None
    assert store.search_runs(["0"]) == []
    assert store.search_registered_models() == []
    with pytest.raises(ResourceNotFoundError):
        store.get_run("abc")
    with pytest.raises(ResourceNotFoundError):
        store.list_artifacts("abc")
    assert _listing(tmp_path) == []
    with pytest.raises(StoreNotFoundError, match="no store at .*not-yet"):
        store.require_existing()
    # The first write creates it; reads see what was written.
    store.create_experiment("first")
    store.require_existing()
    assert [e.name for e in store.search_experiments()] == ["Default", "first"]
    assert {"runs.db", "artifacts"} <= set(_listing(tmp_path / "not-yet"))


def test_reads_use_a_read_only_connection_while_another_writes(tmp_path):
    SQLiteBackend(str(tmp_path)).create_experiment("exp")
    writer = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")  # WAL: readers go on, other writers wait
        writer.execute("INSERT INTO experiment_tags VALUES ('1', 'k', 'v')")
        reader = SQLiteBackend(str(tmp_path))
        started = time.monotonic()
        assert [e.name for e in reader.search_experiments()] == ["Default", "exp"]
        assert time.monotonic() - started < 5
        assert reader.get_experiment("1").tags == {}  # not committed yet
        writer.execute("COMMIT")
        assert reader.get_experiment("1").tags == {"k": "v"}
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # opened read-only
            reader._reader().execute("CREATE TABLE sneaky (x)")
    finally:
        writer.close()


def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path):
    garbage = b"not a database, however long it is: " * 8
    (tmp_path / "runs.db").write_bytes(garbage)
    store = SQLiteBackend(str(tmp_path))
    expected = (f"cannot use the tracking store at {tmp_path}: {tmp_path / 'runs.db'} is not "
                "a SQLite database")
    for attempt in (store.search_experiments, store.require_existing,
                    lambda: store.create_experiment("x")):
        with pytest.raises(StoreUnavailableError) as raised:
            attempt()
        assert str(raised.value) == expected
    assert (tmp_path / "runs.db").read_bytes() == garbage
    assert _listing(tmp_path) == ["runs.db"]  # no artifacts/ folder


def test_a_store_under_a_regular_file_names_the_file(tmp_path):
    (tmp_path / "f").write_text("")
    store = SQLiteBackend(str(tmp_path / "f" / "runs"))
    with pytest.raises(StoreUnavailableError) as raised:
        store.create_experiment("x")
    assert str(raised.value) == (
        f"cannot use the tracking store at {tmp_path / 'f' / 'runs'}: "
        f"{tmp_path / 'f'} is not a directory"
    )


def test_a_locked_database_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.2)
    SQLiteBackend(str(tmp_path)).create_experiment("exp")
    holder = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        store = SQLiteBackend(str(tmp_path))
        with pytest.raises(StoreUnavailableError, match=r"runs.db is locked by another "
                                                        r"process \(waited 0.2 s\)"):
            store.create_experiment("other")
    finally:
        holder.close()


def test_unusable_store_reasons(tmp_path):
    reason = sqlite_module.unusable_store_reason
    db = str(tmp_path / "store" / "runs.db")
    root = str(tmp_path / "store")
    denied = PermissionError(13, "Permission denied", str(tmp_path / "store"))
    assert reason(denied, root, db) == f"{tmp_path} is not writable (permission denied)"
    assert reason(sqlite3.OperationalError("attempt to write a readonly database"), root, db) \
        == f"{db} is read-only"
    assert reason(sqlite3.OperationalError("database or disk is full"), root, db) == \
        f"the disk holding {db} is full"
    assert reason(sqlite3.OperationalError("no such table: runs"), root, db) is None  # a bug
    assert reason(sqlite3.IntegrityError("UNIQUE constraint failed"), root, db) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(StoreUnavailableError, match="is not writable"):
            SQLiteBackend(str(locked / "runs")).create_experiment("x")
    finally:
        locked.chmod(0o755)


def test_client_reads_of_a_mistyped_store_create_nothing(tmp_path):
    import autolog
    from autolog.core.tracking import context

    uri = str(tmp_path / "autolog-rusn")
    client = autolog.Client(uri)
    assert client.search_runs(["0"]) == []
    assert [e.name for e in client.search_experiments()] == ["Default"]
    with pytest.raises(ResourceNotFoundError):
        client.get_run("abc")
    with pytest.raises(StoreNotFoundError):
        context.require_store(uri)
    assert _listing(tmp_path) == []
    context.remove_store(uri)
