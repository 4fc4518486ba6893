"""Fixtures, step 5 of backend-demo.toml: a database per pytest-xdist worker, from a template.

Before any worker starts, the controller builds a template database once: the tables and the
roles. Each worker (PYTEST_XDIST_WORKER, `gw0`, `gw1`, ...; `main` without xdist) then gets its
own database, a copy of the template made by PostgreSQL in one `CREATE DATABASE ... TEMPLATE`,
so workers never see each other's rows or locks. Within a worker each test runs inside one
transaction that is rolled back: every session of the test, its own and those `get_db` gives
the app, joins it in savepoint mode, so a `commit()` in app code only releases a savepoint.
Needs PostgreSQL: TEST_DATABASE_URL (`postgresql+asyncpg://user@host:port/db`).
"""

import asyncio
import os

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import Base
from app.models import Role
from app.roles import setup_roles

# The clients and users every version of this file shares.
from tests.fixtures import *  # noqa: F403

TEMPLATE = "backend_demo_template"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def base_url():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.exit(
            "these fixtures copy a template database once per xdist worker, which needs "
            "PostgreSQL: set TEST_DATABASE_URL=postgresql+asyncpg://user@host:port/db",
            returncode=4,
        )
    return make_url(url)


async def run_autocommit(*statements: str) -> None:
    """Runs statements outside a transaction (CREATE/DROP DATABASE) on the base database."""
    admin = create_async_engine(base_url(), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await admin.dispose()


async def build_template() -> None:
    await run_autocommit(
        f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)', f'CREATE DATABASE "{TEMPLATE}"'
    )
    engine = create_async_engine(base_url().set(database=TEMPLATE))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with async_sessionmaker(engine)() as db:
        await setup_roles(db)
        await db.commit()
    # CREATE DATABASE ... TEMPLATE needs the template to have no connections.
    await engine.dispose()


def pytest_report_header(config):
    return f"database: {base_url()} (a copy of {TEMPLATE} per xdist worker)"


def pytest_configure(config):
    # The controller (or a run without xdist) builds the template; workers only copy it.
    if not hasattr(config, "workerinput"):
        asyncio.run(build_template())


@pytest.fixture(scope="session")
async def engine():
    name = f"backend_demo_{WORKER}"
    await run_autocommit(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"',
    )
    engine = create_async_engine(base_url().set(database=name))
    yield engine
    await engine.dispose()
    await run_autocommit(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def roles(engine):
    async with async_sessionmaker(engine)() as db:
        return {r.name: r for r in (await db.scalars(select(Role))).all()}


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
