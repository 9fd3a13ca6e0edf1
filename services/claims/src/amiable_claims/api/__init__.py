"""The claims HTTP API: dependencies, request bodies, views and routes. A route builds a
command and hands it over; no SQL, no rule."""
