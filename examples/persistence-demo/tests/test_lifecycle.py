"""Lifecycle events: the log of a container and the status it drives."""

import sqlite3

import pytest


@pytest.mark.parametrize(
    "events, status",
    [
        (["start"], "running"),
        (["start", "pause"], "paused"),
        (["start", "stop"], "exited"),
        (["start", "die", "restart"], "running"),
        (["start", "oom", "die"], "exited"),
        (["start", "kill", "stop", "destroy"], "removed"),
    ],
)
def test_status_follows_latest_event(manager, container, events, status):
    manager.record_events(container, events)
    assert manager.get_container(container)["status"] == status


def test_unknown_event_type_violates_fk(manager, container):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.record_event(container, "teleport")
    assert manager.get_container(container)["status"] == "created"


def test_event_for_missing_container_violates_fk(manager):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.record_event(12345, "start")


def test_batch_with_a_bad_event_is_all_or_nothing(manager, container):
    with pytest.raises(sqlite3.IntegrityError):
        manager.record_events(container, ["start", "warp", "stop"])
    assert [e["event_type"] for e in manager.events_for(container)] == ["create"]


def test_events_are_in_order_with_terminal_flag(manager, container):
    manager.record_events(container, ["start", "stop", "destroy"])
    events = manager.events_for(container)
    assert [(e["event_type"], e["terminal"]) for e in events] == [
        ("create", 0),
        ("start", 0),
        ("stop", 0),
        ("destroy", 1),
    ]


def test_event_detail_is_kept(manager, container):
    manager.record_event(container, "die", detail="exitCode=137")
    assert manager.events_for(container)[-1]["detail"] == "exitCode=137"


def test_exactly_two_events_exist(manager, container):
    manager.record_event(container, "start")
    assert manager.table_counts()["container_lifecycle_events"] == 2


def test_first_event_id_is_one(manager, container):
    assert manager.events_for(container)[0]["id"] == 1


def test_event_times_are_utc_iso(manager, container):
    stamp = manager.events_for(container)[0]["occurred_at"]
    assert stamp.endswith("Z") and "T" in stamp


def test_restart_count_by_sql(manager, container):
    manager.record_events(container, ["start", "die", "restart", "die", "restart"])
    n = manager.conn.execute(
        "SELECT COUNT(*) AS n FROM container_lifecycle_events"
        " WHERE container_pk = ? AND event_type = 'restart'",
        (container,),
    ).fetchone()["n"]
    assert n == 2


def test_event_type_cannot_be_deleted_while_used(conn, manager, container):
    manager.record_event(container, "start")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute("DELETE FROM event_types WHERE name = 'start'")
