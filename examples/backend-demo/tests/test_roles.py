"""The roles, granting and revoking them, and the audit trail of it."""

import pytest

from tests.factories import create_user


async def test_every_role_is_set_up(regular):
    roles = (await regular.get("/roles")).json()
    assert [r["name"] for r in roles] == ["admin", "manager", "regular", "viewer"]


async def test_roles_carry_their_permissions(regular):
    roles = {r["name"]: r for r in (await regular.get("/roles")).json()}
    assert "roles:assign" in roles["admin"]["permissions"]
    assert roles["viewer"]["permissions"] == []


async def test_roles_need_a_login(client):
    assert (await client.get("/roles")).status_code == 401


async def test_admin_grants_a_role(admin, regular_user):
    response = await admin.put(f"/users/{regular_user.id}/roles/manager")
    assert response.json()["roles"] == ["manager", "regular"]


async def test_granting_a_role_twice_changes_nothing(admin, regular_user):
    await admin.put(f"/users/{regular_user.id}/roles/manager")
    response = await admin.put(f"/users/{regular_user.id}/roles/manager")
    assert response.json()["roles"] == ["manager", "regular"]


async def test_granting_an_unknown_role_is_not_found(admin, regular_user):
    assert (await admin.put(f"/users/{regular_user.id}/roles/owner")).status_code == 404


async def test_granting_to_a_missing_user_is_not_found(admin):
    assert (await admin.put("/users/999999/roles/manager")).status_code == 404


@pytest.mark.parametrize("as_role", ["manager", "regular", "viewer"], indirect=True)
async def test_only_admins_grant_roles(as_role, admin_user):
    client = as_role
    response = await client.put(f"/users/{admin_user.id}/roles/viewer")
    assert response.status_code == 403


async def test_a_granted_role_takes_effect_at_once(admin, regular, regular_user):
    assert (await regular.post("/projects", json={"name": "p"})).status_code == 403
    await admin.put(f"/users/{regular_user.id}/roles/manager")
    assert (await regular.post("/projects", json={"name": "p"})).status_code == 201


async def test_admin_revokes_a_role(admin, db):
    user = await create_user(db, "two@example.com", ("manager", "regular"))
    response = await admin.delete(f"/users/{user.id}/roles/manager")
    assert response.json()["roles"] == ["regular"]


async def test_revoking_a_role_the_user_lacks_is_not_found(admin, regular_user):
    assert (await admin.delete(f"/users/{regular_user.id}/roles/admin")).status_code == 404


async def test_the_last_admin_keeps_the_role(admin, admin_user):
    response = await admin.delete(f"/users/{admin_user.id}/roles/admin")
    assert response.status_code == 409


async def test_an_admin_role_goes_when_another_admin_remains(admin, db):
    other = await create_user(db, "root@example.com", ("admin",))
    response = await admin.delete(f"/users/{other.id}/roles/admin")
    assert response.json()["roles"] == []


async def test_grants_and_revokes_are_audited(admin, regular_user):
    await admin.put(f"/users/{regular_user.id}/roles/manager")
    await admin.delete(f"/users/{regular_user.id}/roles/manager")
    events = (await admin.get("/audit")).json()
    assert [(e["action"], e["subject"]) for e in events] == [
        ("role.grant", "rey@example.com manager"),
        ("role.revoke", "rey@example.com manager"),
    ]


async def test_a_fresh_database_has_an_empty_audit_trail(admin):
    assert (await admin.get("/audit")).json() == []


async def test_audit_is_filtered_by_action(admin, client):
    await client.post(
        "/auth/register", json={"email": "a@example.com", "name": "a", "password": "long enough"}
    )
    await client.post(
        "/auth/register", json={"email": "b@example.com", "name": "b", "password": "long enough"}
    )
    events = (await admin.get("/audit", params={"action": "user.register"})).json()
    assert [e["subject"] for e in events] == ["a@example.com", "b@example.com"]


async def test_only_admins_read_the_audit_trail(manager):
    assert (await manager.get("/audit")).status_code == 403
