"""amiable's shared rules: pure functions and dated data, importable by every service."""
