"""Pages for people (server-rendered, Jinja2): login, and the shared page helpers."""
