-- A tracking session: one run of the agent that watches a Docker host.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    host        TEXT    NOT NULL DEFAULT 'unix:///var/run/docker.sock',
    status      TEXT    NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'completed', 'failed', 'aborted')),
    started_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at    TEXT
);
