"""A process-global service locator whose cache workers can share by accident."""
