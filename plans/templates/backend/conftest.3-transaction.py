"""Fixtures, steps 3 and 4 of backend-demo.toml: each test in a transaction that is rolled back.

The engine, the tables and the roles are made once per session. Each test gets one connection
with a transaction begun on it; every session of the test, its own and those `get_db` gives the
app, joins that transaction in savepoint mode, so a `commit()` in app code only releases a
savepoint, and the rollback at the end of the test takes everything back. PostgreSQL when
TEST_DATABASE_URL is set, else a SQLite file in pytest's temp directory.
"""

import os

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import Base
from app.roles import setup_roles

# The clients and users every version of this file shares.
from tests.fixtures import *  # noqa: F403


def pytest_report_header(config):
    url = os.environ.get("TEST_DATABASE_URL")
    return f"database: {url}" if url else "database: SQLite (TEST_DATABASE_URL is not set)"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
async def engine(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def roles(engine):
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        roles = await setup_roles(db)
        await db.commit()
    return roles


@pytest.fixture
async def connection(engine, roles):
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def session_factory(connection):
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
