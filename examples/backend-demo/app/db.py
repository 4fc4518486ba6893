"""The database: the declarative base, the async engine and sessions, and `get_db`."""

import os
from collections.abc import AsyncIterator

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

# PostgreSQL in production (`postgresql+asyncpg://...`); SQLite when nothing is configured.
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./backend-demo.db")


class Base(DeclarativeBase):
    """The base of every model."""


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys (and so `ondelete` cascades) only when asked to."""
    if "sqlite" in type(dbapi_connection).__module__:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    """One session per request; the handlers commit what they change."""
    async with SessionLocal() as session:
        yield session
