CREATE INDEX idx_events_container_time ON container_lifecycle_events(container_pk, occurred_at);
CREATE INDEX idx_images_session ON docker_images(session_id);
