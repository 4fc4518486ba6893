"""Users and their roles."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from app import audit
from app.models import AuditEvent, Role, User, user_roles
from app.schemas import AuditOut, RoleOut, UserOut, UserPatch
from app.security import CurrentUser, Db, require

router = APIRouter(tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_active=user.is_active,
        roles=user.role_names(),
    )


async def get_user(db: Db, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    return user


async def get_role(db: Db, name: str) -> Role:
    role = await db.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such role")
    return role


@router.get("/roles", response_model=list[RoleOut])
async def list_roles(user: CurrentUser, db: Db) -> list[RoleOut]:
    roles = (await db.scalars(select(Role).order_by(Role.name))).all()
    return [
        RoleOut(name=r.name, description=r.description, permissions=r.permissions.split())
        for r in roles
    ]


@router.get("/users", response_model=list[UserOut])
async def list_users(
    user: CurrentUser, db: Db, role: str | None = None, active: bool | None = None
) -> list[UserOut]:
    require(user, "users:read")
    query = select(User).order_by(User.id)
    if role is not None:
        query = query.join(user_roles).join(Role).where(Role.name == role)
    if active is not None:
        query = query.where(User.is_active == active)
    return [user_out(u) for u in (await db.scalars(query)).all()]


@router.get("/users/{user_id}", response_model=UserOut)
async def read_user(user_id: int, user: CurrentUser, db: Db) -> UserOut:
    if user_id != user.id:
        require(user, "users:read")
    return user_out(await get_user(db, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: int, body: UserPatch, user: CurrentUser, db: Db) -> UserOut:
    target = await get_user(db, user_id)
    if user_id != user.id:
        require(user, "users:write")
    if body.is_active is not None:
        require(user, "users:write")
        if user_id == user.id and not body.is_active:
            raise HTTPException(status.HTTP_409_CONFLICT, "cannot disable yourself")
        target.is_active = body.is_active
        audit.record(db, user, "user.active" if body.is_active else "user.disable", target.email)
    if body.name is not None:
        target.name = body.name
    await db.commit()
    return user_out(target)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: int, user: CurrentUser, db: Db) -> None:
    require(user, "users:write")
    target = await get_user(db, user_id)
    if target.id == user.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "cannot delete yourself")
    audit.record(db, user, "user.delete", target.email)
    await db.delete(target)
    await db.commit()


async def admins(db: Db) -> int:
    return await db.scalar(
        select(func.count()).select_from(user_roles).join(Role).where(Role.name == "admin")
    )


@router.put("/users/{user_id}/roles/{name}", response_model=UserOut)
async def grant_role(user_id: int, name: str, user: CurrentUser, db: Db) -> UserOut:
    require(user, "roles:assign")
    target = await get_user(db, user_id)
    role = await get_role(db, name)
    if role not in target.roles:
        target.roles.append(role)
        audit.record(db, user, "role.grant", f"{target.email} {name}")
    await db.commit()
    return user_out(target)


@router.delete("/users/{user_id}/roles/{name}", response_model=UserOut)
async def revoke_role(user_id: int, name: str, user: CurrentUser, db: Db) -> UserOut:
    require(user, "roles:assign")
    target = await get_user(db, user_id)
    role = await get_role(db, name)
    if role not in target.roles:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user does not have this role")
    if name == "admin" and await admins(db) == 1:
        raise HTTPException(status.HTTP_409_CONFLICT, "cannot remove the last admin")
    target.roles.remove(role)
    audit.record(db, user, "role.revoke", f"{target.email} {name}")
    await db.commit()
    return user_out(target)


@router.get("/audit", response_model=list[AuditOut])
async def list_audit(user: CurrentUser, db: Db, action: str | None = None) -> list[AuditEvent]:
    require(user, "audit:read")
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list((await db.scalars(query)).all())
