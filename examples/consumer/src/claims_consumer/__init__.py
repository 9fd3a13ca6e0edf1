"""A starter consumer of amiable's claim event log."""
