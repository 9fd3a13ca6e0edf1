"""amiable."""
