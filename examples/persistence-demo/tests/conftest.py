"""Fixtures: every test gets its own temp-file database with all migrations applied.

This is the slow, safe shape: a fresh file per test means no test can see another's data,
but each test pays for creating the file and running every migration, each one committed
durably (synchronous=FULL, rollback journal).
"""

import os
import tempfile

import pytest

from dockertrack import SQLiteManager


@pytest.fixture
def db_path():
    """A path to a new, empty temp file, removed (with any journal) afterwards."""
    handle = tempfile.NamedTemporaryFile(prefix="dockertrack-", suffix=".db", delete=False)
    handle.close()
    yield handle.name
    for leftover in (handle.name, handle.name + "-journal"):
        if os.path.exists(leftover):
            os.unlink(leftover)


@pytest.fixture
def manager(db_path):
    """A migrated SQLiteManager on the test's own database."""
    mgr = SQLiteManager(db_path)
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
