"""Fixtures: migrations run once into an in-memory template; each test gets a fresh copy.

Written by planrun from plans/templates/persistence/conftest.py: the temp-file
database per test, with every migration committed durably, was nearly all of the suite's
time. Now the migrations run once per test session into an in-memory database, and each test
gets its own in-memory copy of it through SQLite's backup API: a page copy, not a migration
run. Tests stay isolated (no test sees another's rows, ids start at 1 again), and the fixture
names are unchanged, so no test file changes.
"""

import sqlite3

import pytest

from dockertrack import SQLiteManager


@pytest.fixture(scope="session")
def migrated_template():
    """An in-memory database with every migration applied, built once per session.

    Under pytest-xdist every worker is its own process with its own session, so each worker
    builds one template of its own; nothing is shared between processes, nothing to lock.
    """
    template = sqlite3.connect(":memory:")
    SQLiteManager.from_connection(template)
    yield template
    template.close()


@pytest.fixture
def manager(migrated_template):
    """A SQLiteManager on the test's own in-memory copy of the migrated template."""
    conn = sqlite3.connect(":memory:")
    migrated_template.backup(conn)
    # backup() copies pages only: row_factory lives on the Python connection and
    # foreign_keys is a per-connection pragma, so from_connection sets both again.
    mgr = SQLiteManager.from_connection(conn, migrate=False)
    yield mgr
    mgr.close()


@pytest.fixture
def conn(manager):
    """The manager's raw connection, for tests that check SQL directly."""
    return manager.conn


@pytest.fixture
def session_id(manager):
    """An active session."""
    return manager.create_session("nightly-build")


@pytest.fixture
def image(manager, session_id):
    """An image pulled by the session."""
    return manager.add_image(
        "sha256:" + "ab" * 32, "nginx", "1.27", size_bytes=187_000_000, session_id=session_id
    )


@pytest.fixture
def container(manager, session_id, image):
    """A created container of that image."""
    return manager.add_container("c0ffee" * 10 + "beef", "web", image, session_id)
