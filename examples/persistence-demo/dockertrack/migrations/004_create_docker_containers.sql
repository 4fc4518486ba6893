-- A container belongs to its session; its image may not be deleted while it exists.
CREATE TABLE docker_containers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    container_id TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    image_pk     INTEGER NOT NULL REFERENCES docker_images(id) ON DELETE RESTRICT,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status       TEXT    NOT NULL DEFAULT 'created',
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
