"""The fixtures every version of tests/conftest.py shares: HTTP clients of the app whose
requests use the test database through `get_db`, users of each role, and clients logged in as
them. They need `session_factory` (the conftest's): it says how tests reach the database."""

import pytest

from app.db import get_db
from app.main import app
from tests import factories


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
