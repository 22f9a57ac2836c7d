"""The web service: FastAPI API, dashboard pages, authentication and roles."""
