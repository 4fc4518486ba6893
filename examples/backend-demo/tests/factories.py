"""Users and clients for the tests, made directly in the database."""

from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import app
from app.models import Role, User
from app.security import hash_password, issue_token

PASSWORD = "correct horse"


async def create_user(
    db: AsyncSession,
    email: str,
    roles: tuple[str, ...] = ("regular",),
    *,
    name: str | None = None,
    active: bool = True,
) -> User:
    """A committed user with these roles (which `setup_roles` created) and password PASSWORD."""
    found = (await db.scalars(select(Role).where(Role.name.in_(roles)))).all()
    assert len(found) == len(roles), f"roles {roles} are not all set up: {found}"
    user = User(
        email=email,
        name=name or email.split("@")[0],
        password_hash=hash_password(PASSWORD),
        is_active=active,
        roles=list(found),
    )
    db.add(user)
    await db.commit()
    return user


async def token_for(db: AsyncSession, user: User) -> str:
    token = await issue_token(db, user)
    await db.commit()
    return token


def client(token: str | None = None) -> AsyncClient:
    """An HTTP client of the app, authenticated when given a token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://test", headers=headers)
