-- Images outlive the session that pulled them: the link is cleared, not cascaded.
CREATE TABLE docker_images (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id    TEXT    NOT NULL UNIQUE,
    repository  TEXT    NOT NULL,
    tag         TEXT    NOT NULL DEFAULT 'latest',
    size_bytes  INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    session_id  INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    pulled_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (repository, tag)
);
