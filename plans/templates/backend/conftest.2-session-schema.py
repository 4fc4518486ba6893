"""Fixtures, step 2 of backend-demo.toml: the schema and the roles once per session.

The engine, the tables and the roles are made once, when the session starts. Until step 3
puts each test in a transaction, a test's rows are deleted after it (the roles are kept).
PostgreSQL when TEST_DATABASE_URL is set, else a SQLite file in pytest's temp directory.
"""

import os

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import Base
from app.roles import setup_roles

# The clients and users every version of this file shares.
from tests.fixtures import *  # noqa: F403

# Every table but the roles', in dependency order.
PER_TEST = [t for t in Base.metadata.sorted_tables if t.name != "roles"]


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
async def session_factory(engine, roles):
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as conn:
        for table in reversed(PER_TEST):
            await conn.execute(table.delete())
