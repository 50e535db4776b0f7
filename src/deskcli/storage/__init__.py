"""The local store: the only code that speaks SQL.

``store.Store`` talks to SQLite through the standard library driver, because the CLI's
start-up budget cannot afford SQLAlchemy; nothing here imports it. The same tables as
SQLModel classes live with the server (``deskcli.server.local_tables``).
"""
