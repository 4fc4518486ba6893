"""The data layer: one SQLite connection, its migrations, and the queries the agent needs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Iterable, Optional

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Deletion order that respects every foreign key: children before parents.
TABLES_CHILD_FIRST = (
    "port_bindings",
    "container_lifecycle_events",
    "docker_containers",
    "docker_images",
    "operations",
    "sessions",
)


def configure(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Apply the per-connection settings every dockertrack connection needs.

    Neither setting is stored in the database file: `row_factory` lives on the Python
    connection object and `foreign_keys` is a per-connection pragma, so both must be set
    again on every new connection, including copies made with `Connection.backup`.
    """
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migration_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.glob("*.sql") if p.name[:3].isdigit())
    versions = [int(p.name.split("_", 1)[0]) for p in files]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return files


class SQLiteManager:
    """Owns one connection to a dockertrack database."""

    def __init__(self, path: str | Path, migrations_dir: Optional[Path] = None) -> None:
        conn = sqlite3.connect(str(path))
        # The agent must not lose events on a crash: durable commits, rollback journal.
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = FULL")
        self.path = str(path)
        self.conn = configure(conn)
        self.migrations_dir = migrations_dir or MIGRATIONS_DIR
        self.apply_migrations()

    @classmethod
    def from_connection(
        cls, conn: sqlite3.Connection, migrate: bool = True, migrations_dir: Optional[Path] = None
    ) -> "SQLiteManager":
        """Wrap an existing connection (e.g. an in-memory copy), configuring it.

        With `migrate`, pending migrations are applied; an already migrated database
        has none, so this costs one query.
        """
        self = cls.__new__(cls)
        self.path = ":memory:"
        self.conn = configure(conn)
        self.migrations_dir = migrations_dir or MIGRATIONS_DIR
        if migrate:
            self.apply_migrations()
        return self

    # -- schema ---------------------------------------------------------------------------

    def applied_migrations(self) -> list[sqlite3.Row]:
        """The migrations recorded in this database, oldest first."""
        self._ensure_migrations_table()
        return self.conn.execute(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        ).fetchall()

    def apply_migrations(self) -> list[str]:
        """Apply every pending migration in version order, each in its own transaction."""
        self._ensure_migrations_table()
        done = {row["version"]: row["checksum"] for row in self.applied_migrations()}
        applied = []
        for path in _migration_files(self.migrations_dir):
            version = int(path.name.split("_", 1)[0])
            sql = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version] != checksum:
                    raise RuntimeError(f"migration {path.name} changed after it was applied")
                continue
            self.conn.executescript(
                "BEGIN;\n"
                + sql
                + "\nINSERT INTO schema_migrations (version, name, checksum) VALUES "
                + f"({version}, '{path.name}', '{checksum}');\nCOMMIT;"
            )
            applied.append(path.name)
        if applied:
            violations = self.conn.execute("PRAGMA foreign_key_check").fetchall()
            if violations:
                raise RuntimeError(f"foreign key violations after migrating: {len(violations)}")
        return applied

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
        self.conn.commit()

    def table_counts(self) -> dict[str, int]:
        """Row counts of the data tables."""
        return {
            t: self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in TABLES_CHILD_FIRST
        }

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # -- sessions -------------------------------------------------------------------------

    def create_session(self, name: str, host: Optional[str] = None) -> int:
        """Start a session; returns its id."""
        with self.conn:
            if host is None:
                cur = self.conn.execute("INSERT INTO sessions (name) VALUES (?)", (name,))
            else:
                cur = self.conn.execute(
                    "INSERT INTO sessions (name, host) VALUES (?, ?)", (name, host)
                )
        return cur.lastrowid

    def get_session(self, session_id: int) -> Optional[sqlite3.Row]:
        """One session by id."""
        return self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()

    def list_sessions(self, status: Optional[str] = None) -> list[sqlite3.Row]:
        """All sessions, oldest first, optionally of one status."""
        if status is None:
            return self.conn.execute("SELECT * FROM sessions ORDER BY id").fetchall()
        return self.conn.execute(
            "SELECT * FROM sessions WHERE status = ? ORDER BY id", (status,)
        ).fetchall()

    def end_session(self, session_id: int, status: str = "completed") -> None:
        """Close a session with a final status."""
        with self.conn:
            cur = self.conn.execute(
                "UPDATE sessions SET status = ?, ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
                " WHERE id = ? AND status = 'active'",
                (status, session_id),
            )
        if cur.rowcount != 1:
            raise LookupError(f"no active session {session_id}")

    def delete_session(self, session_id: int) -> None:
        """Delete a session and, by cascade, its operations and containers."""
        with self.conn:
            self.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def session_summary(self, session_id: int) -> Optional[sqlite3.Row]:
        """Counts for one session, from the `session_summary` view."""
        return self.conn.execute(
            "SELECT * FROM session_summary WHERE id = ?", (session_id,)
        ).fetchone()

    # -- operations -----------------------------------------------------------------------

    def record_operation(self, session_id: int, kind: str, target: Optional[str] = None) -> int:
        """Record the start of a Docker API call; returns its id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO operations (session_id, kind, target) VALUES (?, ?, ?)",
                (session_id, kind, target),
            )
        return cur.lastrowid

    def finish_operation(
        self, op_id: int, ok: bool, duration_ms: int, error: Optional[str] = None
    ) -> None:
        """Record how an operation ended."""
        with self.conn:
            self.conn.execute(
                "UPDATE operations SET status = ?, duration_ms = ?, error = ?,"
                " finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                ("succeeded" if ok else "failed", duration_ms, error, op_id),
            )

    def operations_for(self, session_id: int, status: Optional[str] = None) -> list[sqlite3.Row]:
        """A session's operations in order."""
        sql = "SELECT * FROM operations WHERE session_id = ?"
        args: tuple = (session_id,)
        if status is not None:
            sql += " AND status = ?"
            args += (status,)
        return self.conn.execute(sql + " ORDER BY id", args).fetchall()

    def slowest_operations(self, limit: int = 3) -> list[sqlite3.Row]:
        """Finished operations, slowest first."""
        return self.conn.execute(
            "SELECT kind, target, duration_ms FROM operations WHERE duration_ms IS NOT NULL"
            " ORDER BY duration_ms DESC, id LIMIT ?",
            (limit,),
        ).fetchall()

    # -- images ---------------------------------------------------------------------------

    def add_image(
        self,
        image_id: str,
        repository: str,
        tag: str = "latest",
        size_bytes: int = 0,
        session_id: Optional[int] = None,
        labels: Optional[dict] = None,
    ) -> int:
        """Record a pulled image; returns its row id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO docker_images (image_id, repository, tag, size_bytes, session_id, labels)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (image_id, repository, tag, size_bytes, session_id, json.dumps(labels or {})),
            )
        return cur.lastrowid

    def get_image(self, pk: int) -> Optional[sqlite3.Row]:
        """One image by row id."""
        return self.conn.execute("SELECT * FROM docker_images WHERE id = ?", (pk,)).fetchone()

    def find_image(self, reference: str) -> Optional[sqlite3.Row]:
        """An image by `repository[:tag]` (tag defaults to `latest`)."""
        repository, _, tag = reference.rpartition(":") if ":" in reference else (reference, "", "")
        return self.conn.execute(
            "SELECT * FROM docker_images WHERE repository = ? AND tag = ?",
            (repository, tag or "latest"),
        ).fetchone()

    def image_labels(self, pk: int) -> dict:
        """An image's labels, decoded."""
        row = self.get_image(pk)
        if row is None:
            raise LookupError(f"no image {pk}")
        return json.loads(row["labels"])

    def delete_image(self, pk: int) -> None:
        """Delete an image; refused while a container uses it."""
        with self.conn:
            self.conn.execute("DELETE FROM docker_images WHERE id = ?", (pk,))

    def total_image_bytes(self) -> int:
        """The disk the recorded images take."""
        return self.conn.execute("SELECT COALESCE(SUM(size_bytes), 0) FROM docker_images").fetchone()[0]

    # -- containers and their lifecycle ---------------------------------------------------

    def add_container(self, container_id: str, name: str, image_pk: int, session_id: int) -> int:
        """Record a created container (and its `create` event); returns its row id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO docker_containers (container_id, name, image_pk, session_id)"
                " VALUES (?, ?, ?, ?)",
                (container_id, name, image_pk, session_id),
            )
            self.conn.execute(
                "INSERT INTO container_lifecycle_events (container_pk, event_type) VALUES (?, 'create')",
                (cur.lastrowid,),
            )
        return cur.lastrowid

    def get_container(self, pk: int) -> Optional[sqlite3.Row]:
        """One container with its image reference."""
        return self.conn.execute(
            "SELECT c.*, i.repository || ':' || i.tag AS image"
            " FROM docker_containers c JOIN docker_images i ON i.id = c.image_pk WHERE c.id = ?",
            (pk,),
        ).fetchone()

    def record_event(self, container_pk: int, event_type: str, detail: Optional[str] = None) -> int:
        """Append a lifecycle event; the container's status follows it (a trigger)."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO container_lifecycle_events (container_pk, event_type, detail)"
                " VALUES (?, ?, ?)",
                (container_pk, event_type, detail),
            )
        return cur.lastrowid

    def record_events(self, container_pk: int, events: Iterable[str]) -> None:
        """Append several events in one transaction."""
        with self.conn:
            self.conn.executemany(
                "INSERT INTO container_lifecycle_events (container_pk, event_type) VALUES (?, ?)",
                [(container_pk, e) for e in events],
            )

    def events_for(self, container_pk: int) -> list[sqlite3.Row]:
        """A container's events in the order they were recorded."""
        return self.conn.execute(
            "SELECT e.*, t.terminal FROM container_lifecycle_events e"
            " JOIN event_types t ON t.name = e.event_type"
            " WHERE e.container_pk = ? ORDER BY e.id",
            (container_pk,),
        ).fetchall()

    def containers_by_status(self) -> dict[str, int]:
        """How many containers are in each status."""
        rows = self.conn.execute(
            "SELECT status, COUNT(*) AS n FROM docker_containers GROUP BY status ORDER BY status"
        ).fetchall()
        return {row["status"]: row["n"] for row in rows}

    def publish_port(
        self, container_pk: int, host_port: int, container_port: int, protocol: str = "tcp"
    ) -> int:
        """Record a published port; the host port must be free for that protocol."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO port_bindings (container_pk, host_port, container_port, protocol)"
                " VALUES (?, ?, ?, ?)",
                (container_pk, host_port, container_port, protocol),
            )
        return cur.lastrowid

    def port_bindings_for(self, container_pk: int) -> list[sqlite3.Row]:
        """A container's published ports with the registry's name for each."""
        return self.conn.execute(
            "SELECT b.host_ip, b.host_port, b.container_port, b.protocol, r.service, r.range"
            " FROM port_bindings b JOIN port_registry r"
            " ON r.port = b.container_port AND r.protocol = b.protocol"
            " WHERE b.container_pk = ? ORDER BY b.host_port",
            (container_pk,),
        ).fetchall()

    def lookup_port(self, port: int, protocol: str = "tcp") -> Optional[sqlite3.Row]:
        """The registry entry of a port."""
        return self.conn.execute(
            "SELECT * FROM port_registry WHERE port = ? AND protocol = ?", (port, protocol)
        ).fetchone()

    def ports_of_service(self, service: str) -> list[sqlite3.Row]:
        """Registry entries named for a service."""
        return self.conn.execute(
            "SELECT port, protocol FROM port_registry WHERE service = ? ORDER BY port, protocol",
            (service,),
        ).fetchall()

    def remove_container(self, pk: int) -> None:
        """Forget a container and, by cascade, its events."""
        with self.conn:
            self.conn.execute("DELETE FROM docker_containers WHERE id = ?", (pk,))
