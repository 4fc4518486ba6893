"""Registering, logging in and out, and who am I."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select

from app import audit
from app.api.users import user_out
from app.models import ApiToken, Role, User
from app.roles import DEFAULT_ROLE
from app.schemas import Login, Register, TokenOut, UserOut
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
    user = await db.scalar(select(User).where(User.email == body.email.lower()))
    if user is None or not verify_password(body.password, user.password_hash):
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
