"""Fixtures, steps 3 and 4 of backend.toml: each test in a transaction that is rolled back.

The engine, the tables and the roles are made once per session. Each test gets one connection
with a transaction begun on it; every session of the test, its own and those `get_db` gives the
app, joins that transaction in savepoint mode, so a `commit()` in app code only releases a
savepoint, and the rollback at the end of the test takes everything back. PostgreSQL when
TEST_DATABASE_URL is set, else a SQLite file in pytest's temp directory.
"""

import os

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import Base, get_db
from app.main import app
from app.roles import setup_roles
from tests import factories


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


@pytest.fixture
async def client_factory(session_factory):
    """Makes HTTP clients of the app whose requests use the test database."""

    async def override_get_db():
        async with session_factory() as db:
            yield db

    app.dependency_overrides[get_db] = override_get_db
    made = []

    def make(token: str | None = None):
        made.append(factories.client(token))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()
    app.dependency_overrides.clear()


@pytest.fixture
async def db(session_factory):
    async with session_factory() as session:
        yield session


@pytest.fixture
def client(client_factory):
    return client_factory()


@pytest.fixture
async def admin_user(db):
    return await factories.create_user(db, "ada@example.com", ("admin",))


@pytest.fixture
async def manager_user(db):
    return await factories.create_user(db, "max@example.com", ("manager",))


@pytest.fixture
async def regular_user(db):
    return await factories.create_user(db, "rey@example.com", ("regular",))


@pytest.fixture
async def viewer_user(db):
    return await factories.create_user(db, "vic@example.com", ("viewer",))


@pytest.fixture
def login(db, client_factory):
    """`await login(user)`: a client authenticated as `user`."""

    async def as_user(user):
        return client_factory(await factories.token_for(db, user))

    return as_user


@pytest.fixture
async def admin(login, admin_user):
    return await login(admin_user)


@pytest.fixture
async def manager(login, manager_user):
    return await login(manager_user)


@pytest.fixture
async def regular(login, regular_user):
    return await login(regular_user)


@pytest.fixture
async def viewer(login, viewer_user):
    return await login(viewer_user)


@pytest.fixture
async def as_role(request, db, login):
    """A client of a new user with the role named by the test's parameter (`indirect=True`)."""
    user = await factories.create_user(db, f"{request.param}-user@example.com", (request.param,))
    return await login(user)
