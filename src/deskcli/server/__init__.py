"""The team server: a FastAPI app over SQLite or PostgreSQL (``deskcli serve``).

The change feed and merge (``feed``), who may see what (``scope``), tokens (``auth``),
admin operations (``ops``), the mailbox thread (``intake``), the server's own tables
(``models``) with their Alembic schema revisions (``migrations``, ``revisions``), and the
local tables as SQLModel classes (``local_tables``) so the server knows each entity's
columns.

May import: everything below the front ends (``domain``, ``storage``, ``services``,
``sync``, ``intake`` and the shared modules). Never ``cli`` or ``tui``. Nothing here is
imported by the CLI's ordinary commands; ``deskcli serve`` and the ``deskcli server``
admin commands import it lazily.
"""
