"""Registering, logging in and out, and who am I."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select, update

from app import audit
from app.api.users import user_out
from app.models import ApiToken, LoginEvent, Notification, Role, User
from app.roles import DEFAULT_ROLE
from app.schemas import Login, NotificationOut, Register, TokenOut, UserOut
from app.security import CurrentUser, Db, hash_password, issue_token, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(body: Register, db: Db) -> UserOut:
    if await db.scalar(select(User).where(User.email == body.email)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "email already registered")
    role = await db.scalar(select(Role).where(Role.name == DEFAULT_ROLE))
    if role is None:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "roles are not set up")
    user = User(
        email=body.email,
        name=body.name,
        password_hash=hash_password(body.password),
        roles=[role],
    )
    db.add(user)
    await db.flush()
    audit.record(db, user, "user.register", body.email)
    await db.commit()
    return user_out(user)


@router.post("/login", response_model=TokenOut)
async def login(body: Login, db: Db) -> TokenOut:
    email = body.email.lower()
    user = await db.scalar(select(User).where(User.email == email))
    ok = user is not None and verify_password(body.password, user.password_hash)
    db.add(LoginEvent(user_id=user.id if ok else None, email=email, success=ok))
    await db.commit()
    if user is None or not ok:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "account disabled")
    token = await issue_token(db, user)
    await db.commit()
    return TokenOut(token=token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, db: Db) -> None:
    await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    await db.commit()


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.get("/me/notifications", response_model=list[NotificationOut])
async def notifications(user: CurrentUser, db: Db, unread: bool = False) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if unread:
        query = query.where(Notification.read.is_(False))
    return list((await db.scalars(query)).all())


@router.post("/me/notifications/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(user: CurrentUser, db: Db) -> None:
    await db.execute(
        update(Notification).where(Notification.user_id == user.id).values(read=True)
    )
    await db.commit()
