"""The local store: the only code that speaks SQL.

``store.Store`` talks to SQLite through the standard library driver, because the CLI's
start-up budget cannot afford SQLAlchemy; nothing here imports it. It keeps the connection,
the transaction, the migrations and the write path that records sync ops; every other
query lives in a room, one module per concern (``tickets``, ``contacts``, ``queue``,
``timeline``, ``attachments``, ``kb``, ``metrics``, ``sync_state``, ``outbound``, ``mail``),
reached as ``store.<room>`` and sharing the one connection. Rooms import nothing of
``store`` at run time. The same tables as SQLModel classes live with the server
(``deskcli.server.local_tables``).
"""
