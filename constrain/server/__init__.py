"""`constrain serve`: an OpenAI-compatible HTTP server over one loaded model (server/app.py)."""

from constrain.server.app import create_app

__all__ = ["create_app"]
