"""Widget tests: each widget in a small harness app, no server."""

from app_fixtures import app_env, frozen  # type: ignore[import-not-found]  # noqa: F401
