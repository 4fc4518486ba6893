"""Operations: the Docker API calls of a session."""

import sqlite3

import pytest


def test_new_operation_is_running(manager, session_id):
    op = manager.record_operation(session_id, "pull", "redis:7")
    row = manager.operations_for(session_id)[0]
    assert row["id"] == op
    assert (row["kind"], row["target"], row["status"]) == ("pull", "redis:7", "running")
    assert row["finished_at"] is None


def test_operation_needs_an_existing_session(manager):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.record_operation(999, "pull")
    assert manager.table_counts()["operations"] == 0


def test_finish_success(manager, session_id):
    op = manager.record_operation(session_id, "start", "web")
    manager.finish_operation(op, ok=True, duration_ms=340)
    row = manager.operations_for(session_id)[0]
    assert row["status"] == "succeeded"
    assert row["duration_ms"] == 340
    assert row["error"] is None
    assert row["finished_at"] is not None


def test_finish_failure_keeps_the_error(manager, session_id):
    op = manager.record_operation(session_id, "run")
    manager.finish_operation(op, ok=False, duration_ms=5, error="no such image")
    row = manager.operations_for(session_id, status="failed")[0]
    assert row["error"] == "no such image"


def test_negative_duration_is_rejected(manager, session_id):
    op = manager.record_operation(session_id, "stop")
    with pytest.raises(sqlite3.IntegrityError):
        manager.finish_operation(op, ok=True, duration_ms=-1)
    assert manager.operations_for(session_id)[0]["status"] == "running"


def test_operations_are_in_order(manager, session_id):
    for kind in ("pull", "create", "start", "logs"):
        manager.record_operation(session_id, kind)
    assert [row["kind"] for row in manager.operations_for(session_id)] == [
        "pull",
        "create",
        "start",
        "logs",
    ]


def test_filter_by_status(manager, session_id):
    ok = manager.record_operation(session_id, "pull")
    bad = manager.record_operation(session_id, "push")
    manager.record_operation(session_id, "ps")
    manager.finish_operation(ok, ok=True, duration_ms=10)
    manager.finish_operation(bad, ok=False, duration_ms=20, error="denied")
    assert [r["kind"] for r in manager.operations_for(session_id, "running")] == ["ps"]
    assert [r["kind"] for r in manager.operations_for(session_id, "succeeded")] == ["pull"]
    assert [r["kind"] for r in manager.operations_for(session_id, "failed")] == ["push"]


def test_operations_are_per_session(manager):
    a = manager.create_session("a")
    b = manager.create_session("b")
    manager.record_operation(a, "pull")
    manager.record_operation(b, "pull")
    manager.record_operation(b, "run")
    assert len(manager.operations_for(a)) == 1
    assert len(manager.operations_for(b)) == 2


def test_exactly_these_operations_exist(manager, session_id):
    manager.record_operation(session_id, "version")
    assert manager.table_counts()["operations"] == 1


def test_slowest_operations(manager, session_id):
    for kind, ms in (("pull", 900), ("ps", 3), ("build", 4200), ("logs", 40)):
        op = manager.record_operation(session_id, kind)
        manager.finish_operation(op, ok=True, duration_ms=ms)
    manager.record_operation(session_id, "events")
    slow = manager.slowest_operations(2)
    assert [(r["kind"], r["duration_ms"]) for r in slow] == [("build", 4200), ("pull", 900)]


def test_slowest_ignores_unfinished(manager, session_id):
    manager.record_operation(session_id, "attach")
    assert manager.slowest_operations() == []


def test_unknown_status_is_rejected_by_check(conn, session_id):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute(
            "INSERT INTO operations (session_id, kind, status) VALUES (?, 'pull', 'queued')",
            (session_id,),
        )


def test_operation_index_is_used(conn):
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM operations WHERE session_id = 1"
    ).fetchall()
    assert any("idx_operations_session" in row["detail"] for row in plan)


def test_rollback_discards_uncommitted_operation(manager, session_id):
    try:
        with manager.conn:
            manager.conn.execute(
                "INSERT INTO operations (session_id, kind) VALUES (?, 'rm')", (session_id,)
            )
            raise RuntimeError("interrupted")
    except RuntimeError:
        pass
    assert manager.operations_for(session_id) == []
