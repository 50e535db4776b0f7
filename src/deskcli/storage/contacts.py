"""Clients and their callers: lookups by name, email and id. Writes go through
``Store.insert`` and ``Store.update_row`` (both are last-writer-wins per field).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .rows import Row

if TYPE_CHECKING:
    from .store import Store


#: SQLite's NOCASE collation folds ASCII letters only ("Ä" and "ä" stay different).
_NOCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

#: Values per ``IN (...)`` list: well under SQLite's limit on parameters.
_CHUNK = 500


def nocase(name: str) -> str:
    """``name`` as the NOCASE collation compares it."""
    return name.translate(_NOCASE)


class Contacts:
    """Reads of the clients and callers tables."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def client_by_name(self, name: str) -> Row | None:
        row: Row | None = self.db.execute("SELECT * FROM clients WHERE name = ?",
                                           (name,)).fetchone()
        return row

    def client_by_id(self, client_id: str) -> Row | None:
        row: Row | None = self.db.execute("SELECT * FROM clients WHERE id = ?",
                                           (client_id,)).fetchone()
        return row

    def clients(self) -> list[Row]:
        return list(self.db.execute("SELECT * FROM clients ORDER BY name"))

    def find_caller(self, name: str, email: str | None, client_id: str | None) -> Row | None:
        """The same person calling again, within one client (a caller's record belongs to
        their client): matched by email if known, else by name."""
        if email:
            row: Row | None = self.db.execute(
                "SELECT * FROM callers WHERE email = ? AND client_id IS ? "
                "ORDER BY created_at LIMIT 1", (email, client_id)).fetchone()
            if row:
                return row
        row = self.db.execute(
            "SELECT * FROM callers WHERE name = ? COLLATE NOCASE AND client_id IS ? "
            "ORDER BY created_at LIMIT 1", (name, client_id)).fetchone()
        return row

    def stored_caller_keys(self, names: Iterable[str],
                           emails: Iterable[str]) -> tuple[set[str], set[str]]:
        """Which of ``names`` (as ``nocase`` folds them) and ``emails`` some caller record
        carries, for any client: ``find_caller`` can only match a name or an address in
        these sets, so a bulk import asks once per batch instead of twice per record."""
        found_names: set[str] = set()
        found_emails: set[str] = set()
        for wanted, found, sql in (
                (sorted(set(names)), found_names,
                 "SELECT DISTINCT name AS v FROM callers WHERE name COLLATE NOCASE IN ({})"),
                (sorted(set(emails)), found_emails,
                 "SELECT DISTINCT email AS v FROM callers WHERE email IN ({})")):
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                marks = ", ".join("?" for _ in chunk)
                found.update(str(r["v"]) for r in self.db.execute(sql.format(marks), chunk))
        return {nocase(n) for n in found_names}, found_emails

    def search_callers(self, text: str, limit: int = 20) -> list[Row]:
        pattern = f"%{text}%"
        return list(self.db.execute(
            "SELECT c.*, k.name AS client_name FROM callers c "
            "LEFT JOIN clients k ON k.id = c.client_id "
            "WHERE c.name LIKE ? OR c.email LIKE ? OR c.phone LIKE ? "
            "ORDER BY c.name LIMIT ?", (pattern, pattern, pattern, limit)))

    def caller(self, caller_id: str) -> Row | None:
        row: Row | None = self.db.execute("SELECT * FROM callers WHERE id = ?",
                                           (caller_id,)).fetchone()
        return row

