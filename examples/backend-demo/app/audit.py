"""The audit trail: who did what to which subject."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, User


def record(db: AsyncSession, actor: User | None, action: str, subject: str) -> None:
    """Adds an event to the session; it is committed with the change it describes."""
    db.add(AuditEvent(actor_id=actor.id if actor else None, action=action, subject=subject))
