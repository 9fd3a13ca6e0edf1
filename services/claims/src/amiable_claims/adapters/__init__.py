"""The claims service's adapters: its PostgreSQL tables, projector and read model."""
