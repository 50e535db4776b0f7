"""The team server: a FastAPI app over SQLite or PostgreSQL (``deskcli serve``).

Nothing here is imported by the CLI's ordinary commands; ``deskcli serve`` and the
``deskcli server`` admin commands import it lazily.
"""
