"""A small task-tracking backend: FastAPI over SQLAlchemy 2 (async), with users and roles."""
