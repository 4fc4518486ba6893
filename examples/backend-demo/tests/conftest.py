"""Fixtures: a fresh database for every test.

Each test gets its own engine, drops and recreates every table, and creates the roles again, so
no test can see another's rows. The database is PostgreSQL when TEST_DATABASE_URL is set
(`postgresql+asyncpg://user@host:port/db`), else a SQLite file in pytest's temp directory.
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


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session_factory(engine):
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as db:
        await setup_roles(db)
        await db.commit()
    return factory
