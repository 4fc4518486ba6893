"""Reading, changing and deleting users."""

import pytest

from tests.factories import create_user


async def test_admin_lists_every_user(admin, regular_user):
    users = (await admin.get("/users")).json()
    assert [u["email"] for u in users] == ["ada@example.com", "rey@example.com"]


async def test_a_fresh_database_has_only_the_fixture_user(admin):
    assert [u["email"] for u in (await admin.get("/users")).json()] == ["ada@example.com"]


async def test_manager_lists_users(manager):
    assert (await manager.get("/users")).status_code == 200


@pytest.mark.parametrize("as_role", ["regular", "viewer"], indirect=True)
async def test_others_may_not_list_users(as_role):
    client = as_role
    assert (await client.get("/users")).status_code == 403


async def test_users_filtered_by_role(admin, db):
    await create_user(db, "m1@example.com", ("manager",))
    await create_user(db, "m2@example.com", ("manager", "regular"))
    await create_user(db, "r1@example.com")
    users = (await admin.get("/users", params={"role": "manager"})).json()
    assert [u["email"] for u in users] == ["m1@example.com", "m2@example.com"]


async def test_users_filtered_by_activity(admin, db):
    await create_user(db, "off@example.com", active=False)
    users = (await admin.get("/users", params={"active": "false"})).json()
    assert [u["email"] for u in users] == ["off@example.com"]


async def test_a_user_reads_themselves(regular, regular_user):
    body = (await regular.get(f"/users/{regular_user.id}")).json()
    assert body["name"] == "rey"


async def test_a_regular_user_may_not_read_another(regular, admin_user):
    assert (await regular.get(f"/users/{admin_user.id}")).status_code == 403


async def test_admin_reads_anyone(admin, regular_user):
    assert (await admin.get(f"/users/{regular_user.id}")).json()["email"] == regular_user.email


async def test_reading_a_missing_user_is_not_found(admin):
    assert (await admin.get("/users/999999")).status_code == 404


async def test_a_user_renames_themselves(regular, regular_user):
    response = await regular.patch(f"/users/{regular_user.id}", json={"name": "Rey S."})
    assert response.json()["name"] == "Rey S."
    assert (await regular.get("/auth/me")).json()["name"] == "Rey S."


async def test_a_user_may_not_rename_another(regular, admin_user):
    response = await regular.patch(f"/users/{admin_user.id}", json={"name": "x"})
    assert response.status_code == 403


async def test_a_user_may_not_enable_themselves(regular, regular_user):
    response = await regular.patch(f"/users/{regular_user.id}", json={"is_active": True})
    assert response.status_code == 403


async def test_admin_disables_and_enables_a_user(admin, regular_user):
    off = await admin.patch(f"/users/{regular_user.id}", json={"is_active": False})
    assert off.json()["is_active"] is False
    on = await admin.patch(f"/users/{regular_user.id}", json={"is_active": True})
    assert on.json()["is_active"] is True


async def test_admin_may_not_disable_themselves(admin, admin_user):
    response = await admin.patch(f"/users/{admin_user.id}", json={"is_active": False})
    assert response.status_code == 409


async def test_admin_deletes_a_user(admin, regular_user):
    assert (await admin.delete(f"/users/{regular_user.id}")).status_code == 204
    assert (await admin.get(f"/users/{regular_user.id}")).status_code == 404


async def test_admin_may_not_delete_themselves(admin, admin_user):
    assert (await admin.delete(f"/users/{admin_user.id}")).status_code == 409


async def test_deleting_a_missing_user_is_not_found(admin):
    assert (await admin.delete("/users/999999")).status_code == 404


async def test_a_manager_may_not_delete_users(manager, regular_user):
    assert (await manager.delete(f"/users/{regular_user.id}")).status_code == 403


async def test_a_deleted_user_token_stops_working(admin, regular, regular_user):
    await admin.delete(f"/users/{regular_user.id}")
    assert (await regular.get("/auth/me")).status_code == 401
