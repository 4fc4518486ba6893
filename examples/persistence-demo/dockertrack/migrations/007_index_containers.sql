CREATE INDEX idx_containers_session ON docker_containers(session_id);
CREATE INDEX idx_containers_image ON docker_containers(image_pk);
CREATE INDEX idx_containers_status ON docker_containers(status);
