"""Fixtures of the server tests that several modules share."""

from escalationkit import _escalation_db  # noqa: F401  (the escalation_db fixture)
