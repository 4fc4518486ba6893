-- Lifecycle events must name a known Docker event type.
CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    terminal    INTEGER NOT NULL DEFAULT 0 CHECK (terminal IN (0, 1)),
    description TEXT NOT NULL
);
