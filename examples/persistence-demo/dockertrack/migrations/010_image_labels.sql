-- Image labels as JSON text, e.g. {"org.opencontainers.image.source": "..."}.
ALTER TABLE docker_images ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
