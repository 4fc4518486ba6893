-- Rebuild the events table so event_type references event_types (SQLite cannot add a
-- foreign key to an existing table).
CREATE TABLE container_lifecycle_events_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    container_pk INTEGER NOT NULL REFERENCES docker_containers(id) ON DELETE CASCADE,
    event_type   TEXT    NOT NULL REFERENCES event_types(name),
    detail       TEXT,
    occurred_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO container_lifecycle_events_new (id, container_pk, event_type, detail, occurred_at)
    SELECT id, container_pk, event_type, detail, occurred_at FROM container_lifecycle_events;
DROP TABLE container_lifecycle_events;
ALTER TABLE container_lifecycle_events_new RENAME TO container_lifecycle_events;
CREATE INDEX idx_events_container_time ON container_lifecycle_events(container_pk, occurred_at);
CREATE INDEX idx_events_type ON container_lifecycle_events(event_type);
