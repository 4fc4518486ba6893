"""The FastAPI application."""

from fastapi import FastAPI

from app.api import auth, projects, users

app = FastAPI(title="backend-demo")
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(projects.router)


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}
