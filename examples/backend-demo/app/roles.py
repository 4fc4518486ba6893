"""The roles every deployment has, and `setup_roles`, which creates them."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role

# name -> (description, permissions)
ROLES: dict[str, tuple[str, list[str]]] = {
    "admin": (
        "Everything, including users and roles",
        [
            "users:read",
            "users:write",
            "roles:assign",
            "audit:read",
            "projects:create",
            "projects:all",
            "tasks:write",
        ],
    ),
    "manager": (
        "Creates projects and manages their members",
        ["users:read", "projects:create", "tasks:write"],
    ),
    "regular": ("Works on the tasks of their projects", ["tasks:write"]),
    "viewer": ("Reads the projects they belong to", []),
}

DEFAULT_ROLE = "regular"


async def setup_roles(db: AsyncSession) -> dict[str, Role]:
    """Creates the missing roles; returns every role by name. The caller commits."""
    existing = {r.name: r for r in (await db.scalars(select(Role))).all()}
    for name, (description, permissions) in ROLES.items():
        if name not in existing:
            role = Role(name=name, description=description, permissions=" ".join(permissions))
            db.add(role)
            existing[name] = role
    await db.flush()
    return existing
