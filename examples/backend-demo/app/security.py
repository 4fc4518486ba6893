"""Passwords, API tokens and the dependencies that find the current user."""

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_db
from app.models import ApiToken, User

# Few iterations: this is a demo, and its tests hash a password for nearly every test.
ITERATIONS = 1000


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"{salt}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    salt, _, digest = stored.partition("$")
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return hmac.compare_digest(again.hex(), digest)


async def issue_token(db: AsyncSession, user: User) -> str:
    token = secrets.token_hex(32)
    db.add(ApiToken(token=token, user_id=user.id))
    await db.flush()
    return token


Db = Annotated[AsyncSession, Depends(get_db)]


async def current_user(db: Db, authorization: Annotated[str | None, Header()] = None) -> User:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
    found = await db.scalar(select(ApiToken).where(ApiToken.token == token))
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown token")
    if not found.user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "account disabled")
    return found.user


CurrentUser = Annotated[User, Depends(current_user)]


def require(user: User, permission: str) -> None:
    if not user.can(permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs permission {permission}")
