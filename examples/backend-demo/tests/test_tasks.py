"""Tasks in projects: creating, listing, moving them through their states, and comments."""

import pytest


@pytest.fixture
async def project(manager, regular_user, viewer_user):
    """A project of the manager's, with the regular and the viewer user as members."""
    response = await manager.post("/projects", json={"name": "Apollo"})
    project = response.json()
    for user in (regular_user, viewer_user):
        await manager.post(f"/projects/{project['id']}/members", json={"user_id": user.id})
    return project


async def new_task(client, project, **fields):
    body = {"title": "Launch", **fields}
    response = await client.post(f"/projects/{project['id']}/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_member_creates_a_task(regular, project):
    task = await new_task(regular, project, description="T-minus 10", priority=1)
    assert (task["title"], task["status"], task["priority"]) == ("Launch", "todo", 1)


async def test_a_task_gets_its_tags_once_each(regular, project):
    task = await new_task(regular, project, tags=["ops", "crew", "ops"])
    assert task["tags"] == ["crew", "ops"]


async def test_tags_are_shared_between_tasks(regular, project):
    await new_task(regular, project, tags=["ops"])
    second = await new_task(regular, project, title="Land", tags=["ops", "crew"])
    assert second["tags"] == ["crew", "ops"]


async def test_a_viewer_may_not_create_tasks(viewer, project):
    response = await viewer.post(f"/projects/{project['id']}/tasks", json={"title": "x"})
    assert response.status_code == 403


async def test_a_non_member_cannot_see_the_project_tasks(login, db, project):
    from tests.factories import create_user

    outsider = await login(await create_user(db, "out@example.com"))
    assert (await outsider.get(f"/projects/{project['id']}/tasks")).status_code == 404


@pytest.mark.parametrize("priority", [0, 6, -1])
async def test_priority_is_one_to_five(regular, project, priority):
    response = await regular.post(
        f"/projects/{project['id']}/tasks", json={"title": "x", "priority": priority}
    )
    assert response.status_code == 422


async def test_an_assignee_must_be_a_member(regular, project, admin_user):
    response = await regular.post(
        f"/projects/{project['id']}/tasks", json={"title": "x", "assignee_id": admin_user.id}
    )
    assert response.status_code == 422


async def test_a_task_is_assigned_to_a_member(regular, project, viewer_user):
    task = await new_task(regular, project, assignee_id=viewer_user.id)
    assert task["assignee_id"] == viewer_user.id


async def test_tasks_are_listed_by_priority(regular, project):
    await new_task(regular, project, title="c", priority=5)
    await new_task(regular, project, title="a", priority=1)
    await new_task(regular, project, title="b", priority=3)
    tasks = (await regular.get(f"/projects/{project['id']}/tasks")).json()
    assert [t["title"] for t in tasks] == ["a", "b", "c"]


async def test_a_fresh_project_has_no_tasks(regular, project):
    assert (await regular.get(f"/projects/{project['id']}/tasks")).json() == []


async def test_tasks_are_filtered_by_status(regular, project):
    first = await new_task(regular, project, title="a")
    await new_task(regular, project, title="b")
    await regular.patch(f"/tasks/{first['id']}", json={"status": "doing"})
    doing = (await regular.get(f"/projects/{project['id']}/tasks", params={"status": "doing"})).json()
    assert [t["title"] for t in doing] == ["a"]


async def test_tasks_are_filtered_by_assignee(regular, project, regular_user):
    await new_task(regular, project, title="mine", assignee_id=regular_user.id)
    await new_task(regular, project, title="nobody's")
    mine = (
        await regular.get(
            f"/projects/{project['id']}/tasks", params={"assignee_id": regular_user.id}
        )
    ).json()
    assert [t["title"] for t in mine] == ["mine"]


async def test_tasks_are_filtered_by_tag(regular, project):
    await new_task(regular, project, title="a", tags=["ops"])
    await new_task(regular, project, title="b", tags=["crew"])
    ops = (await regular.get(f"/projects/{project['id']}/tasks", params={"tag": "ops"})).json()
    assert [t["title"] for t in ops] == ["a"]


@pytest.mark.parametrize(
    "path",
    [
        ["doing"],
        ["doing", "done"],
        ["doing", "todo"],
        ["doing", "done", "todo"],
        ["doing", "done", "todo", "doing"],
    ],
)
async def test_allowed_status_moves(regular, project, path):
    task = await new_task(regular, project)
    for status in path:
        response = await regular.patch(f"/tasks/{task['id']}", json={"status": status})
        assert response.status_code == 200, response.text
    assert (await regular.get(f"/tasks/{task['id']}")).json()["status"] == path[-1]


@pytest.mark.parametrize("path", [["done"], ["doing", "done", "doing"]])
async def test_forbidden_status_moves(regular, project, path):
    task = await new_task(regular, project)
    *allowed, last = path
    for status in allowed:
        await regular.patch(f"/tasks/{task['id']}", json={"status": status})
    response = await regular.patch(f"/tasks/{task['id']}", json={"status": last})
    assert response.status_code == 409


async def test_an_unknown_status_is_invalid(regular, project):
    task = await new_task(regular, project)
    response = await regular.patch(f"/tasks/{task['id']}", json={"status": "blocked"})
    assert response.status_code == 422


async def test_a_task_is_edited_and_stamped(regular, project):
    task = await new_task(regular, project)
    response = await regular.patch(
        f"/tasks/{task['id']}", json={"title": "Launch!", "priority": 2}
    )
    edited = response.json()
    assert (edited["title"], edited["priority"]) == ("Launch!", 2)
    assert edited["updated_at"] > task["updated_at"]


async def test_the_owner_deletes_a_task(manager, regular, project):
    task = await new_task(regular, project)
    assert (await manager.delete(f"/tasks/{task['id']}")).status_code == 204
    assert (await regular.get(f"/tasks/{task['id']}")).status_code == 404


async def test_a_member_may_not_delete_tasks(regular, project):
    task = await new_task(regular, project)
    assert (await regular.delete(f"/tasks/{task['id']}")).status_code == 403


async def test_a_missing_task_is_not_found(regular):
    assert (await regular.get("/tasks/999999")).status_code == 404


async def test_an_archived_project_takes_no_new_tasks(manager, regular, project):
    await manager.post(f"/projects/{project['id']}/archive")
    response = await regular.post(f"/projects/{project['id']}/tasks", json={"title": "x"})
    assert response.status_code == 409


async def test_deleting_a_project_deletes_its_tasks(manager, admin, regular, project):
    task = await new_task(regular, project)
    await manager.delete(f"/projects/{project['id']}")
    assert (await admin.get(f"/tasks/{task['id']}")).status_code == 404


async def test_comments_are_added_and_listed_in_order(regular, viewer, project, viewer_user):
    task = await new_task(regular, project)
    url = f"/tasks/{task['id']}/comments"
    assert (await regular.post(url, json={"body": "go"})).status_code == 201
    assert (await viewer.post(url, json={"body": "watching"})).status_code == 201
    comments = (await regular.get(url)).json()
    assert [c["body"] for c in comments] == ["go", "watching"]
    assert comments[1]["author_id"] == viewer_user.id


async def test_an_empty_comment_is_invalid(regular, project):
    task = await new_task(regular, project)
    response = await regular.post(f"/tasks/{task['id']}/comments", json={"body": ""})
    assert response.status_code == 422


async def test_an_archived_project_takes_no_comments(manager, regular, project):
    task = await new_task(regular, project)
    await manager.post(f"/projects/{project['id']}/archive")
    response = await regular.post(f"/tasks/{task['id']}/comments", json={"body": "late"})
    assert response.status_code == 409


async def test_status_moves_are_recorded_in_order(regular, project, regular_user):
    task = await new_task(regular, project)
    for status in ("doing", "done", "todo"):
        await regular.patch(f"/tasks/{task['id']}", json={"status": status})
    events = (await regular.get(f"/tasks/{task['id']}/events")).json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("todo", "doing"),
        ("doing", "done"),
        ("done", "todo"),
    ]
    assert {e["actor_id"] for e in events} == {regular_user.id}


async def test_a_refused_move_is_not_recorded(regular, project):
    task = await new_task(regular, project)
    await regular.patch(f"/tasks/{task['id']}", json={"status": "done"})
    assert (await regular.get(f"/tasks/{task['id']}/events")).json() == []


async def test_the_assignee_is_notified(regular, viewer, project, viewer_user):
    task = await new_task(regular, project, assignee_id=viewer_user.id)
    notes = (await viewer.get("/auth/me/notifications")).json()
    assert notes == [{"kind": "task.assigned", "task_id": task["id"], "read": False}]


async def test_assigning_yourself_tells_nobody(regular, project, regular_user):
    await new_task(regular, project, assignee_id=regular_user.id)
    assert (await regular.get("/auth/me/notifications")).json() == []


async def test_a_comment_notifies_the_assignee_and_not_its_author(
    regular, viewer, project, viewer_user
):
    task = await new_task(regular, project, assignee_id=viewer_user.id)
    await regular.post(f"/tasks/{task['id']}/comments", json={"body": "ping"})
    await viewer.post(f"/tasks/{task['id']}/comments", json={"body": "pong"})
    kinds = [n["kind"] for n in (await viewer.get("/auth/me/notifications")).json()]
    assert kinds == ["task.assigned", "task.commented"]


async def test_notifications_are_marked_read(regular, viewer, project, viewer_user):
    await new_task(regular, project, assignee_id=viewer_user.id)
    assert (await viewer.post("/auth/me/notifications/read")).status_code == 204
    assert (await viewer.get("/auth/me/notifications", params={"unread": "true"})).json() == []
    assert len((await viewer.get("/auth/me/notifications")).json()) == 1


async def test_reassigning_notifies_the_new_assignee(regular, login, project, manager_user):
    task = await new_task(regular, project)
    await regular.patch(f"/tasks/{task['id']}", json={"assignee_id": manager_user.id})
    manager = await login(manager_user)
    notes = (await manager.get("/auth/me/notifications")).json()
    assert [n["task_id"] for n in notes] == [task["id"]]
