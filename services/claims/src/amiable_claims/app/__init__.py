"""The claims application: handlers that run commands and registrations, and timer firing.
No HTTP here."""
