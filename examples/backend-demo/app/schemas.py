"""Request and response bodies."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import TaskStatus


class Register(BaseModel):
    email: str = Field(max_length=200)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)

    @field_validator("email")
    @classmethod
    def looks_like_email(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if not local or not at or "." not in domain:
            raise ValueError("not an email address")
        return value.lower()


class Login(BaseModel):
    email: str
    password: str


class TokenOut(BaseModel):
    token: str


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_active: bool
    roles: list[str]


class UserPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    permissions: list[str]


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = ""


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    owner_id: int
    archived: bool


class MemberIn(BaseModel):
    user_id: int


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    priority: int = Field(default=3, ge=1, le=5)
    assignee_id: int | None = None
    tags: list[str] = []


class TaskPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    priority: int | None = Field(default=None, ge=1, le=5)
    status: TaskStatus | None = None
    assignee_id: int | None = None


class TaskOut(BaseModel):
    id: int
    project_id: int
    title: str
    description: str
    status: TaskStatus
    priority: int
    assignee_id: int | None
    tags: list[str]
    updated_at: datetime


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000)


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    author_id: int
    body: str


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    task_id: int | None
    read: bool


class TaskEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor_id: int | None
    from_status: TaskStatus
    to_status: TaskStatus


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor_id: int | None
    action: str
    subject: str
