"""The store's rooms share one connection and keep to their own business.

Every room (``storage/<concern>.py``) is a class taking the ``Store`` and running SQL on
``store.db``. Reaching into another object's private attributes would couple the rooms
again, so this reads their source and refuses it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deskcli.storage import store as store_mod
from deskcli.storage.store import Store

ROOMS = {"tickets": "tickets", "contacts": "contacts", "queue": "queue",
         "timeline": "timeline", "attachments": "attachments", "kb": "kb",
         "metrics": "metrics", "sync": "sync_state"}
STORAGE = Path(store_mod.__file__).parent


OTHER_ROOMS = ("outbound", "mail", "tags", "workload")


@pytest.mark.parametrize("module", sorted({*ROOMS.values(), *OTHER_ROOMS}))
def test_a_room_touches_only_its_own_private_attributes(module: str) -> None:
    tree = ast.parse((STORAGE / f"{module}.py").read_text())
    trespass = [
        f"line {node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
    assert trespass == []


@pytest.mark.parametrize("module", sorted(ROOMS.values()))
def test_a_room_imports_the_store_only_for_type_checking(module: str) -> None:
    """``store.py`` imports the rooms; a room importing it back would be a cycle."""
    tree = ast.parse((STORAGE / f"{module}.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert all(node.module not in ("store", "deskcli.storage.store") for node in top_level)


def test_every_room_is_built_once_on_the_one_connection(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db", ids=lambda: "0" * 32, now_ms=lambda: 0,
                       now_iso=lambda: "2026-01-01T00:00:00Z")
    try:
        for attribute in ROOMS:
            room = getattr(store, attribute)
            assert room.store is store and room.db is store.db
            assert getattr(store, attribute) is room
    finally:
        store.close()
