"""The app's screens are tested with Textual's Pilot against real servers on loopback."""

from app_fixtures import (  # type: ignore[import-not-found]  # noqa: F401
    app_env,
    config_for,
    demo_store,
    demo_template,
    frozen,
    live,
    own_server,
    tag,
)
