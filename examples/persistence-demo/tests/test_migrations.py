"""The schema: migrations applied in order, once, with the connection set up right."""

import shutil
import sqlite3

import pytest

from dockertrack import MIGRATIONS_DIR, SQLiteManager

MIGRATION_FILES = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))


def test_every_migration_is_recorded_in_order(manager):
    names = [row["name"] for row in manager.applied_migrations()]
    assert names == MIGRATION_FILES
    assert len(names) >= 12


def test_versions_are_consecutive(manager):
    versions = [row["version"] for row in manager.applied_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_applying_again_is_a_no_op(manager):
    assert manager.apply_migrations() == []
    assert len(manager.applied_migrations()) == len(MIGRATION_FILES)


def test_rows_are_sqlite_rows(conn):
    row = conn.execute("SELECT 1 AS one, 'x' AS ex").fetchone()
    assert isinstance(row, sqlite3.Row)
    assert row["one"] == 1 and row["ex"] == "x"


def test_foreign_keys_are_enforced(conn):
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_every_table_exists(conn):
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    assert {row["name"] for row in rows} == {
        "schema_migrations",
        "sessions",
        "operations",
        "docker_images",
        "docker_containers",
        "container_lifecycle_events",
        "event_types",
        "port_registry",
        "port_bindings",
    }


def test_operations_gained_duration_and_error(conn):
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(operations)")}
    assert {"duration_ms", "error"} <= columns


def test_events_reference_event_types(conn):
    fks = conn.execute("PRAGMA foreign_key_list(container_lifecycle_events)").fetchall()
    assert {(fk["table"], fk["on_delete"]) for fk in fks} == {
        ("docker_containers", "CASCADE"),
        ("event_types", "NO ACTION"),
    }


def test_event_types_are_seeded(conn):
    rows = conn.execute("SELECT name FROM event_types WHERE terminal = 1").fetchall()
    assert [row["name"] for row in rows] == ["destroy"]
    assert conn.execute("SELECT COUNT(*) FROM event_types").fetchone()[0] == 11


def test_port_registry_is_seeded(conn):
    assert conn.execute("SELECT COUNT(*) FROM port_registry").fetchone()[0] == 2 * 65536


def test_summary_view_and_trigger_exist(conn):
    kinds = dict(
        conn.execute(
            "SELECT name, type FROM sqlite_master WHERE name IN"
            " ('session_summary', 'trg_event_sets_status')"
        ).fetchall()
    )
    assert kinds == {"session_summary": "view", "trg_event_sets_status": "trigger"}


def test_schema_passes_integrity_and_fk_checks(conn):
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_new_migration_is_applied_once(manager, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "099_add_session_owner.sql").write_text("ALTER TABLE sessions ADD COLUMN owner TEXT;\n")
    upgraded = SQLiteManager.from_connection(manager.conn, migrations_dir=folder)
    assert [row["name"] for row in upgraded.applied_migrations()][-1] == "099_add_session_owner.sql"
    assert upgraded.apply_migrations() == []
    sid = upgraded.create_session("owned")
    upgraded.conn.execute("UPDATE sessions SET owner = 'ci' WHERE id = ?", (sid,))
    assert upgraded.get_session(sid)["owner"] == "ci"


def test_an_edited_migration_is_refused(manager, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        SQLiteManager.from_connection(manager.conn, migrations_dir=folder)


def test_duplicate_versions_are_refused(manager, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "001_again.sql").write_text("SELECT 1;\n")
    with pytest.raises(ValueError, match="duplicate migration versions"):
        manager.__class__.from_connection(manager.conn, migrations_dir=folder)


def test_a_fresh_database_starts_empty(manager):
    assert manager.table_counts() == {
        "port_bindings": 0,
        "container_lifecycle_events": 0,
        "docker_containers": 0,
        "docker_images": 0,
        "operations": 0,
        "sessions": 0,
    }
