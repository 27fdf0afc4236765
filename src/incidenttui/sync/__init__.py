"""The sync engine: the only code that talks to the server."""
