"""Projects, their members, their tasks and the tasks' comments."""

from datetime import UTC, datetime

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.models import (
    Comment,
    Notification,
    Project,
    ProjectMember,
    Tag,
    Task,
    TaskEvent,
    TaskStatus,
    User,
)
from app.schemas import (
    CommentIn,
    CommentOut,
    MemberIn,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    TaskIn,
    TaskEventOut,
    TaskOut,
    TaskPatch,
)
from app.security import CurrentUser, Db, require

router = APIRouter(tags=["projects"])

# The moves a task's status may make.
TRANSITIONS = {
    TaskStatus.todo: {TaskStatus.doing},
    TaskStatus.doing: {TaskStatus.todo, TaskStatus.done},
    TaskStatus.done: {TaskStatus.todo},
}


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        project_id=task.project_id,
        title=task.title,
        description=task.description,
        status=task.status,
        priority=task.priority,
        assignee_id=task.assignee_id,
        tags=sorted(t.name for t in task.tags),
        updated_at=task.updated_at,
    )


async def is_member(db: Db, project: Project, user: User) -> bool:
    if project.owner_id == user.id:
        return True
    return await db.get(ProjectMember, (project.id, user.id)) is not None


async def visible_project(db: Db, project_id: int, user: User) -> Project:
    """The project, when the user may see it; 404 otherwise (its existence is not revealed)."""
    project = await db.get(Project, project_id)
    if project is None or not (user.can("projects:all") or await is_member(db, project, user)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such project")
    return project


def may_manage(project: Project, user: User) -> bool:
    return project.owner_id == user.id or user.can("projects:all")


async def writable_project(db: Db, project_id: int, user: User) -> Project:
    project = await visible_project(db, project_id, user)
    require(user, "tasks:write")
    if project.archived:
        raise HTTPException(status.HTTP_409_CONFLICT, "project is archived")
    return project


async def tags_named(db: Db, names: list[str]) -> list[Tag]:
    tags = []
    for name in sorted(set(names)):
        tag = await db.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            db.add(tag)
        tags.append(tag)
    return tags


@router.post("/projects", status_code=status.HTTP_201_CREATED, response_model=ProjectOut)
async def create_project(body: ProjectIn, user: CurrentUser, db: Db) -> Project:
    require(user, "projects:create")
    project = Project(name=body.name, description=body.description, owner_id=user.id)
    db.add(project)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "you already have a project of that name")
    audit.record(db, user, "project.create", body.name)
    await db.commit()
    return project


@router.get("/projects", response_model=list[ProjectOut])
async def list_projects(
    user: CurrentUser, db: Db, include_archived: bool = False
) -> list[Project]:
    query = select(Project).order_by(Project.id)
    if not user.can("projects:all"):
        member = select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
        query = query.where((Project.owner_id == user.id) | Project.id.in_(member))
    if not include_archived:
        query = query.where(Project.archived.is_(False))
    return list((await db.scalars(query)).all())


@router.get("/projects/{project_id}", response_model=ProjectOut)
async def read_project(project_id: int, user: CurrentUser, db: Db) -> Project:
    return await visible_project(db, project_id, user)


@router.patch("/projects/{project_id}", response_model=ProjectOut)
async def update_project(
    project_id: int, body: ProjectPatch, user: CurrentUser, db: Db
) -> Project:
    project = await visible_project(db, project_id, user)
    if not may_manage(project, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner changes a project")
    if body.name is not None:
        project.name = body.name
    if body.description is not None:
        project.description = body.description
    await db.commit()
    return project


@router.post("/projects/{project_id}/archive", response_model=ProjectOut)
async def archive_project(project_id: int, user: CurrentUser, db: Db) -> Project:
    project = await visible_project(db, project_id, user)
    if not may_manage(project, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner archives a project")
    project.archived = True
    audit.record(db, user, "project.archive", project.name)
    await db.commit()
    return project


@router.delete("/projects/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(project_id: int, user: CurrentUser, db: Db) -> None:
    project = await visible_project(db, project_id, user)
    if not may_manage(project, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner deletes a project")
    audit.record(db, user, "project.delete", project.name)
    await db.delete(project)
    await db.commit()


@router.get("/projects/{project_id}/members", response_model=list[int])
async def list_members(project_id: int, user: CurrentUser, db: Db) -> list[int]:
    project = await visible_project(db, project_id, user)
    ids = (
        await db.scalars(
            select(ProjectMember.user_id)
            .where(ProjectMember.project_id == project.id)
            .order_by(ProjectMember.user_id)
        )
    ).all()
    return [project.owner_id, *ids]


@router.post("/projects/{project_id}/members", status_code=status.HTTP_201_CREATED)
async def add_member(project_id: int, body: MemberIn, user: CurrentUser, db: Db) -> dict:
    project = await visible_project(db, project_id, user)
    if not may_manage(project, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner adds members")
    if await db.get(User, body.user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    if body.user_id == project.owner_id or await db.get(
        ProjectMember, (project.id, body.user_id)
    ):
        raise HTTPException(status.HTTP_409_CONFLICT, "already a member")
    db.add(ProjectMember(project_id=project.id, user_id=body.user_id))
    await db.commit()
    return {"project_id": project.id, "user_id": body.user_id}


@router.delete(
    "/projects/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_member(project_id: int, user_id: int, user: CurrentUser, db: Db) -> None:
    project = await visible_project(db, project_id, user)
    if not may_manage(project, user) and user_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner removes members")
    member = await db.get(ProjectMember, (project.id, user_id))
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not a member")
    await db.delete(member)
    await db.commit()


@router.post(
    "/projects/{project_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskOut
)
async def create_task(project_id: int, body: TaskIn, user: CurrentUser, db: Db) -> TaskOut:
    project = await writable_project(db, project_id, user)
    if body.assignee_id is not None:
        assignee = await db.get(User, body.assignee_id)
        if assignee is None or not await is_member(db, project, assignee):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "assignee is not a member")
    task = Task(
        project_id=project.id,
        title=body.title,
        description=body.description,
        priority=body.priority,
        assignee_id=body.assignee_id,
        tags=await tags_named(db, body.tags),
    )
    db.add(task)
    await db.flush()
    notify_assignee(db, task, user)
    await db.commit()
    return task_out(task)


def notify_assignee(db: Db, task: Task, actor: User, kind: str = "task.assigned") -> None:
    """Tells the task's assignee, unless they did it themselves."""
    if task.assignee_id is not None and task.assignee_id != actor.id:
        db.add(Notification(user_id=task.assignee_id, kind=kind, task_id=task.id))


@router.get("/projects/{project_id}/tasks", response_model=list[TaskOut])
async def list_tasks(
    project_id: int,
    user: CurrentUser,
    db: Db,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    assignee_id: int | None = None,
    tag: str | None = None,
) -> list[TaskOut]:
    project = await visible_project(db, project_id, user)
    query = select(Task).where(Task.project_id == project.id).order_by(Task.priority, Task.id)
    if status_ is not None:
        query = query.where(Task.status == status_)
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    tasks = (await db.scalars(query)).all()
    if tag is not None:
        tasks = [t for t in tasks if tag in {x.name for x in t.tags}]
    return [task_out(t) for t in tasks]


async def visible_task(db: Db, task_id: int, user: User) -> tuple[Task, Project]:
    task = await db.get(Task, task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such task")
    project = await visible_project(db, task.project_id, user)
    return task, project


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def read_task(task_id: int, user: CurrentUser, db: Db) -> TaskOut:
    task, _ = await visible_task(db, task_id, user)
    return task_out(task)


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def update_task(task_id: int, body: TaskPatch, user: CurrentUser, db: Db) -> TaskOut:
    task, project = await visible_task(db, task_id, user)
    await writable_project(db, project.id, user)
    if body.status is not None and body.status != task.status:
        if body.status not in TRANSITIONS[task.status]:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"cannot move a task from {task.status} to {body.status}"
            )
        db.add(
            TaskEvent(
                task_id=task.id, actor_id=user.id, from_status=task.status, to_status=body.status
            )
        )
        task.status = body.status
    if body.assignee_id is not None:
        assignee = await db.get(User, body.assignee_id)
        if assignee is None or not await is_member(db, project, assignee):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "assignee is not a member")
        if body.assignee_id != task.assignee_id:
            task.assignee_id = body.assignee_id
            notify_assignee(db, task, user)
    for field in ("title", "description", "priority"):
        value = getattr(body, field)
        if value is not None:
            setattr(task, field, value)
    task.updated_at = datetime.now(UTC)
    await db.commit()
    return task_out(task)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: int, user: CurrentUser, db: Db) -> None:
    task, project = await visible_task(db, task_id, user)
    if not may_manage(project, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the owner deletes tasks")
    await db.delete(task)
    await db.commit()


@router.post(
    "/tasks/{task_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut
)
async def add_comment(task_id: int, body: CommentIn, user: CurrentUser, db: Db) -> Comment:
    task, project = await visible_task(db, task_id, user)
    if project.archived:
        raise HTTPException(status.HTTP_409_CONFLICT, "project is archived")
    comment = Comment(task_id=task.id, author_id=user.id, body=body.body)
    db.add(comment)
    notify_assignee(db, task, user, "task.commented")
    await db.commit()
    return comment


@router.get("/tasks/{task_id}/events", response_model=list[TaskEventOut])
async def list_events(task_id: int, user: CurrentUser, db: Db) -> list[TaskEvent]:
    task, _ = await visible_task(db, task_id, user)
    query = select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)
    return list((await db.scalars(query)).all())


@router.get("/tasks/{task_id}/comments", response_model=list[CommentOut])
async def list_comments(task_id: int, user: CurrentUser, db: Db) -> list[Comment]:
    task, _ = await visible_task(db, task_id, user)
    query = select(Comment).where(Comment.task_id == task.id).order_by(Comment.id)
    return list((await db.scalars(query)).all())
