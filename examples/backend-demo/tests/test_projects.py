"""Projects and their members."""

import pytest

from tests.factories import create_user


async def new_project(client, name="Apollo", description=""):
    response = await client.post("/projects", json={"name": name, "description": description})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_manager_creates_a_project(manager, manager_user):
    project = await new_project(manager, description="to the moon")
    assert project["owner_id"] == manager_user.id
    assert project["description"] == "to the moon"
    assert project["archived"] is False


@pytest.mark.parametrize("as_role", ["regular", "viewer"], indirect=True)
async def test_others_may_not_create_projects(as_role):
    client = as_role
    assert (await client.post("/projects", json={"name": "x"})).status_code == 403


async def test_a_project_name_is_required(manager):
    assert (await manager.post("/projects", json={"name": ""})).status_code == 422


async def test_one_owner_has_one_project_of_a_name(manager):
    await new_project(manager)
    response = await manager.post("/projects", json={"name": "Apollo"})
    assert response.status_code == 409


async def test_two_owners_may_use_the_same_name(manager, admin):
    await new_project(manager)
    await new_project(admin)
    assert len((await admin.get("/projects")).json()) == 2


async def test_a_failed_create_leaves_the_session_usable(manager):
    await new_project(manager)
    await manager.post("/projects", json={"name": "Apollo"})
    assert (await new_project(manager, name="Gemini"))["name"] == "Gemini"


async def test_a_fresh_database_has_no_projects(admin):
    assert (await admin.get("/projects")).json() == []


async def test_users_list_only_their_projects(manager, regular, regular_user):
    mine = await new_project(manager)
    await new_project(manager, name="Other")
    await manager.post(f"/projects/{mine['id']}/members", json={"user_id": regular_user.id})
    names = [p["name"] for p in (await regular.get("/projects")).json()]
    assert names == ["Apollo"]


async def test_admin_sees_every_project(manager, admin):
    await new_project(manager)
    await new_project(manager, name="Other")
    assert len((await admin.get("/projects")).json()) == 2


async def test_a_non_member_cannot_tell_a_project_exists(manager, regular):
    project = await new_project(manager)
    assert (await regular.get(f"/projects/{project['id']}")).status_code == 404


async def test_the_owner_renames_a_project(manager):
    project = await new_project(manager)
    response = await manager.patch(f"/projects/{project['id']}", json={"name": "Artemis"})
    assert response.json()["name"] == "Artemis"


async def test_a_member_may_not_rename_a_project(manager, regular, regular_user):
    project = await new_project(manager)
    await manager.post(f"/projects/{project['id']}/members", json={"user_id": regular_user.id})
    response = await regular.patch(f"/projects/{project['id']}", json={"name": "Mine"})
    assert response.status_code == 403


async def test_archived_projects_are_hidden_unless_asked_for(manager):
    project = await new_project(manager)
    archived = await manager.post(f"/projects/{project['id']}/archive")
    assert archived.json()["archived"] is True
    assert (await manager.get("/projects")).json() == []
    shown = (await manager.get("/projects", params={"include_archived": "true"})).json()
    assert [p["id"] for p in shown] == [project["id"]]


async def test_the_owner_deletes_a_project(manager):
    project = await new_project(manager)
    assert (await manager.delete(f"/projects/{project['id']}")).status_code == 204
    assert (await manager.get(f"/projects/{project['id']}")).status_code == 404


async def test_admin_deletes_any_project(manager, admin):
    project = await new_project(manager)
    assert (await admin.delete(f"/projects/{project['id']}")).status_code == 204


async def test_project_deletion_is_audited(manager, admin):
    project = await new_project(manager)
    await manager.delete(f"/projects/{project['id']}")
    actions = [e["action"] for e in (await admin.get("/audit")).json()]
    assert actions == ["project.create", "project.delete"]


async def test_members_are_added_listed_and_removed(manager, manager_user, db):
    project = await new_project(manager)
    one = await create_user(db, "one@example.com")
    two = await create_user(db, "two@example.com")
    for user in (two, one):
        response = await manager.post(f"/projects/{project['id']}/members", json={"user_id": user.id})
        assert response.status_code == 201
    members = (await manager.get(f"/projects/{project['id']}/members")).json()
    assert members == [manager_user.id, one.id, two.id]
    assert (await manager.delete(f"/projects/{project['id']}/members/{one.id}")).status_code == 204
    assert (await manager.get(f"/projects/{project['id']}/members")).json() == [
        manager_user.id,
        two.id,
    ]


async def test_adding_a_missing_user_is_not_found(manager):
    project = await new_project(manager)
    response = await manager.post(f"/projects/{project['id']}/members", json={"user_id": 999999})
    assert response.status_code == 404


async def test_adding_a_member_twice_is_a_conflict(manager, regular_user):
    project = await new_project(manager)
    url = f"/projects/{project['id']}/members"
    await manager.post(url, json={"user_id": regular_user.id})
    assert (await manager.post(url, json={"user_id": regular_user.id})).status_code == 409


async def test_the_owner_is_already_a_member(manager, manager_user):
    project = await new_project(manager)
    response = await manager.post(
        f"/projects/{project['id']}/members", json={"user_id": manager_user.id}
    )
    assert response.status_code == 409


async def test_a_member_may_leave(manager, regular, regular_user):
    project = await new_project(manager)
    await manager.post(f"/projects/{project['id']}/members", json={"user_id": regular_user.id})
    url = f"/projects/{project['id']}/members/{regular_user.id}"
    assert (await regular.delete(url)).status_code == 204
    assert (await regular.get(f"/projects/{project['id']}")).status_code == 404


async def test_a_member_may_not_add_others(manager, regular, regular_user, viewer_user):
    project = await new_project(manager)
    url = f"/projects/{project['id']}/members"
    await manager.post(url, json={"user_id": regular_user.id})
    assert (await regular.post(url, json={"user_id": viewer_user.id})).status_code == 403


async def test_removing_a_non_member_is_not_found(manager, regular_user):
    project = await new_project(manager)
    url = f"/projects/{project['id']}/members/{regular_user.id}"
    assert (await manager.delete(url)).status_code == 404
