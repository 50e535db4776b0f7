"""Attachments and their content: blobs stored once per SHA-256, checked on the way in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import health
from .rows import Row

if TYPE_CHECKING:
    from .store import Store


class Attachments:
    """Attachment rows and the blobs they point at."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def put_blob(self, sha256: str, data: bytes) -> None:
        """Content-addressed: the same file attached twice is stored once.

        The content must hash to ``sha256`` (it may have come from the server): stored
        under a wrong hash it would stand in for the real file forever, so it is refused
        with ``ContentMismatch``, naming the hash, and nothing is stored.
        """
        self.store.require_tx()
        import hashlib  # loaded by the commands that read attachments, not by every one

        if hashlib.sha256(data).hexdigest() != sha256:
            raise health.ContentMismatch(
                f"attachment content does not match its SHA-256 hash {sha256[:12]}…; it "
                "was not stored")
        self.db.execute("INSERT OR IGNORE INTO blobs(sha256, size, data) VALUES (?, ?, ?)",
                         (sha256, len(data), data))

    def blob(self, sha256: str) -> bytes | None:
        row = self.db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else bytes(row["data"])

    def by_id(self, attachment_id: str) -> Row | None:
        """One attachment by its id, or by a prefix of it that only it has."""
        rows = self.db.execute(
            "SELECT a.*, t.number, t.provisional FROM attachments a JOIN tickets t "
            "ON t.id = a.ticket_id WHERE a.id = ? OR a.id LIKE ? ESCAPE '\\' "
            "ORDER BY a.id = ? DESC LIMIT 2",
            (attachment_id, attachment_id.replace("\\", "\\\\").replace("%", "\\%")
             .replace("_", "\\_") + "%", attachment_id)).fetchall()
        exact = [row for row in rows if row["id"] == attachment_id]
        found: Row | None = exact[0] if exact else rows[0] if len(rows) == 1 else None
        return found

    def blobs_not_matching_their_hash(self) -> list[str]:
        """Hashes whose stored content hashes to something else (``deskcli doctor``)."""
        import hashlib

        cursor = self.db.cursor()
        cursor.row_factory = None
        return [str(sha) for sha, data in cursor.execute("SELECT sha256, data FROM blobs")
                if hashlib.sha256(bytes(data)).hexdigest() != sha]

    def of_ticket(self, ticket_id: str) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM attachments WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

