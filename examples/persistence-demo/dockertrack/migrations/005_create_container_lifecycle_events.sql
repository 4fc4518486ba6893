-- The lifecycle log of a container; removed with the container.
CREATE TABLE container_lifecycle_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    container_pk INTEGER NOT NULL REFERENCES docker_containers(id) ON DELETE CASCADE,
    event_type   TEXT    NOT NULL,
    detail       TEXT,
    occurred_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
