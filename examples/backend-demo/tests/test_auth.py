"""Registering, logging in and out, and the current user."""

import pytest

from tests.factories import PASSWORD, create_user


async def register(client, email="new@example.com", password="long enough", name="New"):
    return await client.post(
        "/auth/register", json={"email": email, "name": name, "password": password}
    )


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_register_creates_a_regular_user(client):
    response = await register(client)
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@example.com"
    assert body["roles"] == ["regular"]
    assert body["is_active"] is True


async def test_register_lowercases_the_email(client):
    response = await register(client, email="Mixed.Case@Example.COM")
    assert response.json()["email"] == "mixed.case@example.com"


async def test_register_twice_is_a_conflict(client):
    assert (await register(client)).status_code == 201
    assert (await register(client)).status_code == 409


async def test_register_conflicts_case_insensitively(client):
    await register(client, email="same@example.com")
    assert (await register(client, email="SAME@example.com")).status_code == 409


@pytest.mark.parametrize("email", ["plain", "@example.com", "user@localhost", ""])
async def test_register_refuses_what_is_not_an_email(client, email):
    assert (await register(client, email=email)).status_code == 422


async def test_register_refuses_a_short_password(client):
    assert (await register(client, password="short")).status_code == 422


async def test_register_refuses_an_empty_name(client):
    assert (await register(client, name="")).status_code == 422


async def test_login_returns_a_working_token(client, client_factory):
    await register(client)
    response = await client.post(
        "/auth/login", json={"email": "new@example.com", "password": "long enough"}
    )
    assert response.status_code == 200
    me = await client_factory(response.json()["token"]).get("/auth/me")
    assert me.json()["email"] == "new@example.com"


async def test_login_with_a_wrong_password_is_refused(client, regular_user):
    response = await client.post(
        "/auth/login", json={"email": regular_user.email, "password": "wrong"}
    )
    assert response.status_code == 401


async def test_login_with_an_unknown_email_is_refused(client):
    response = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_login_of_a_disabled_account_is_forbidden(client, db):
    user = await create_user(db, "off@example.com", active=False)
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403


async def test_login_ignores_the_case_of_the_email(client, regular_user):
    response = await client.post(
        "/auth/login", json={"email": regular_user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_me_shows_the_roles(admin):
    body = (await admin.get("/auth/me")).json()
    assert body["email"] == "ada@example.com"
    assert body["roles"] == ["admin"]


async def test_me_without_a_token_is_unauthorized(client):
    assert (await client.get("/auth/me")).status_code == 401


async def test_me_with_an_unknown_token_is_unauthorized(client_factory):
    assert (await client_factory("not-a-token").get("/auth/me")).status_code == 401


async def test_me_with_another_scheme_is_unauthorized(client):
    response = await client.get("/auth/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


async def test_logout_ends_every_token(regular, login, regular_user):
    other = await login(regular_user)
    assert (await regular.post("/auth/logout")).status_code == 204
    assert (await regular.get("/auth/me")).status_code == 401
    assert (await other.get("/auth/me")).status_code == 401


async def test_a_disabled_user_token_stops_working(admin, regular, regular_user):
    response = await admin.patch(f"/users/{regular_user.id}", json={"is_active": False})
    assert response.status_code == 200
    assert (await regular.get("/auth/me")).status_code == 403


async def test_every_login_attempt_is_recorded(client, db, regular_user):
    from sqlalchemy import select

    from app.models import LoginEvent

    for password in ("wrong", PASSWORD):
        await client.post("/auth/login", json={"email": regular_user.email, "password": password})
    await client.post("/auth/login", json={"email": "nobody@example.com", "password": "x"})
    events = (await db.scalars(select(LoginEvent).order_by(LoginEvent.id))).all()
    assert [(e.email, e.success, e.user_id) for e in events] == [
        ("rey@example.com", False, None),
        ("rey@example.com", True, regular_user.id),
        ("nobody@example.com", False, None),
    ]
