"""amiable disputes: from contestation to resolution."""
