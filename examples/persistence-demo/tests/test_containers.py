"""Containers: creation, lookups, status counts and removal."""

import sqlite3

import pytest


def test_container_joins_its_image(manager, container):
    row = manager.get_container(container)
    assert row["name"] == "web"
    assert row["image"] == "nginx:1.27"
    assert row["status"] == "created"


def test_creation_logs_a_create_event(manager, container):
    events = manager.events_for(container)
    assert [e["event_type"] for e in events] == ["create"]


def test_container_needs_an_image(manager, session_id):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.add_container("dead" * 16, "orphan", 77, session_id)
    assert manager.table_counts()["docker_containers"] == 0


def test_container_needs_a_session(manager, image):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.add_container("dead" * 16, "orphan", image, 77)


def test_failed_create_logs_no_event(manager, image):
    with pytest.raises(sqlite3.IntegrityError):
        manager.add_container("dead" * 16, "orphan", image, 77)
    assert manager.table_counts()["container_lifecycle_events"] == 0


def test_container_id_is_unique(manager, container, image, session_id):
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        manager.add_container("c0ffee" * 10 + "beef", "web-2", image, session_id)


def test_exactly_one_container_exists(manager, container):
    assert manager.table_counts()["docker_containers"] == 1
    assert container == 1


def test_counts_by_status(manager, session_id, image):
    a = manager.add_container("a" * 64, "a", image, session_id)
    b = manager.add_container("b" * 64, "b", image, session_id)
    manager.add_container("c" * 64, "c", image, session_id)
    manager.record_event(a, "start")
    manager.record_events(b, ["start", "stop"])
    assert manager.containers_by_status() == {"created": 1, "exited": 1, "running": 1}


def test_remove_container_cascades_to_events(manager, container):
    manager.record_events(container, ["start", "pause", "unpause"])
    manager.remove_container(container)
    assert manager.table_counts()["container_lifecycle_events"] == 0


def test_remove_keeps_other_containers_events(manager, session_id, image, container):
    other = manager.add_container("f" * 64, "db", image, session_id)
    manager.record_event(other, "start")
    manager.remove_container(container)
    assert [e["event_type"] for e in manager.events_for(other)] == ["create", "start"]


def test_containers_of_two_images(manager, session_id, image):
    redis = manager.add_image("sha256:" + "ee" * 32, "redis", "7")
    manager.add_container("1" * 64, "cache", redis, session_id)
    manager.add_container("2" * 64, "web", image, session_id)
    rows = manager.conn.execute(
        "SELECT i.repository, COUNT(c.id) AS n FROM docker_images i"
        " LEFT JOIN docker_containers c ON c.image_pk = i.id GROUP BY i.id ORDER BY i.repository"
    ).fetchall()
    assert [(r["repository"], r["n"]) for r in rows] == [("nginx", 1), ("redis", 1)]


def test_container_index_used_for_status(conn):
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM docker_containers WHERE status = 'running'"
    ).fetchall()
    assert any("idx_containers_status" in row["detail"] for row in plan)


def test_foreign_key_check_is_clean_after_work(manager, container):
    manager.record_events(container, ["start", "die"])
    manager.remove_container(container)
    assert manager.conn.execute("PRAGMA foreign_key_check").fetchall() == []
