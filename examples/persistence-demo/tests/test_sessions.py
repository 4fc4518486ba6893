"""Sessions: creation, status changes, deletion and what cascades from it."""

import sqlite3

import pytest


def test_first_session_gets_id_one(manager):
    # Ids restart at 1 only in a database no other test has written to.
    assert manager.create_session("first") == 1


def test_exactly_one_session_exists(manager, session_id):
    rows = manager.list_sessions()
    assert len(rows) == 1
    assert rows[0]["id"] == session_id


def test_new_session_is_active_with_defaults(manager, session_id):
    row = manager.get_session(session_id)
    assert row["name"] == "nightly-build"
    assert row["status"] == "active"
    assert row["host"] == "unix:///var/run/docker.sock"
    assert row["ended_at"] is None
    assert row["started_at"].endswith("Z")


def test_custom_host_is_kept(manager):
    sid = manager.create_session("remote", host="tcp://10.0.0.5:2376")
    assert manager.get_session(sid)["host"] == "tcp://10.0.0.5:2376"


def test_names_are_unique(manager, session_id):
    with pytest.raises(sqlite3.IntegrityError):
        manager.create_session("nightly-build")
    assert len(manager.list_sessions()) == 1


def test_failed_insert_leaves_no_partial_row(manager):
    manager.create_session("a")
    with pytest.raises(sqlite3.IntegrityError):
        manager.create_session("a")
    assert [row["name"] for row in manager.list_sessions()] == ["a"]


def test_missing_session_is_none(manager):
    assert manager.get_session(404) is None


def test_end_session_sets_status_and_time(manager, session_id):
    manager.end_session(session_id, "failed")
    row = manager.get_session(session_id)
    assert row["status"] == "failed"
    assert row["ended_at"] is not None


def test_ending_twice_is_an_error(manager, session_id):
    manager.end_session(session_id)
    with pytest.raises(LookupError):
        manager.end_session(session_id)


def test_unknown_status_violates_check(manager, session_id):
    with pytest.raises(sqlite3.IntegrityError):
        manager.end_session(session_id, "paused")
    assert manager.get_session(session_id)["status"] == "active"


def test_list_sessions_by_status(manager):
    a = manager.create_session("a")
    manager.create_session("b")
    c = manager.create_session("c")
    manager.end_session(a)
    manager.end_session(c, "aborted")
    assert [row["name"] for row in manager.list_sessions("active")] == ["b"]
    assert [row["name"] for row in manager.list_sessions("completed")] == ["a"]
    assert len(manager.list_sessions()) == 3


def test_delete_session_cascades_to_operations(manager, session_id):
    manager.record_operation(session_id, "pull", "nginx:1.27")
    manager.record_operation(session_id, "inspect")
    manager.delete_session(session_id)
    assert manager.table_counts()["operations"] == 0


def test_delete_session_cascades_to_containers_and_events(manager, session_id, container):
    manager.record_events(container, ["start", "stop"])
    manager.delete_session(session_id)
    counts = manager.table_counts()
    assert counts["docker_containers"] == 0
    assert counts["container_lifecycle_events"] == 0


def test_delete_session_keeps_its_images(manager, session_id, image):
    manager.delete_session(session_id)
    row = manager.get_image(image)
    assert row is not None
    assert row["session_id"] is None


def test_delete_only_touches_that_session(manager):
    keep = manager.create_session("keep")
    drop = manager.create_session("drop")
    manager.record_operation(keep, "ps")
    manager.record_operation(drop, "ps")
    manager.delete_session(drop)
    assert [row["name"] for row in manager.list_sessions()] == ["keep"]
    assert len(manager.operations_for(keep)) == 1


def test_summary_counts_per_session(manager, session_id, container):
    op = manager.record_operation(session_id, "run")
    manager.finish_operation(op, ok=False, duration_ms=12, error="port in use")
    manager.record_operation(session_id, "logs")
    summary = manager.session_summary(session_id)
    assert (summary["operations"], summary["failed_operations"], summary["containers"]) == (2, 1, 1)


def test_summary_of_an_idle_session_is_zero(manager, session_id):
    summary = manager.session_summary(session_id)
    assert summary["name"] == "nightly-build"
    assert (summary["operations"], summary["containers"]) == (0, 0)
