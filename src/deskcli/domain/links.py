"""Parent and child tickets, and merging a duplicate: the rules, as pure functions.

A *parent* gathers tickets about one thing: an incident with the duplicates callers
opened during an outage, a problem with the incidents it caused. A child keeps its own
caller, notes and clock; the parent shows its children, and resolving the parent can
resolve them with its resolution (each caller told about their own ticket).

*Merging* a duplicate goes further: the duplicate is closed as "merged into #N", its
caller becomes a party of the target (their email replies thread there) and everything on
its timeline is shown under the target. Nothing is copied or deleted: records are append-
only and stay where they were written, the target reads them by reference.

Both links stay within one client: a technician of one customer must never see another's
ticket through a parent or a merge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from deskcli.domain.errors import Refused
from deskcli.domain.numbering import display_ref

#: How far up a chain of parents (or merges) is followed before it is called a loop.
MAX_DEPTH = 50


def _ref(ticket: Mapping[str, Any]) -> str:
    return display_ref(ticket.get("number"), ticket.get("provisional"))


def _same_client(a: Mapping[str, Any], b: Mapping[str, Any], doing: str) -> None:
    if a.get("client_id") != b.get("client_id"):
        raise Refused(f"cannot {doing}: {_ref(a)} and {_ref(b)} belong to different "
                      "clients (links and merges stay within one client)", field="parent")


def check_link(child: Mapping[str, Any], parent: Mapping[str, Any],
               parent_of: Callable[[str], str | None]) -> None:
    """Refuse linking ``child`` under ``parent``: itself, across clients, to a merged
    ticket, or making a loop (``parent_of`` gives a ticket id's parent id)."""
    doing = f"link {_ref(child)} under {_ref(parent)}"
    if child["id"] == parent["id"]:
        raise Refused(f"cannot {doing}: a ticket cannot be its own parent", field="parent")
    _same_client(child, parent, doing)
    if parent.get("merged_into"):
        raise Refused(f"cannot {doing}: {_ref(parent)} was merged into another ticket; "
                      "link to that one instead", field="parent")
    if child.get("merged_into"):
        raise Refused(f"cannot {doing}: {_ref(child)} was merged into another ticket",
                      field="parent")
    current: str | None = parent["id"]
    for _ in range(MAX_DEPTH):
        current = parent_of(current) if current else None
        if current is None:
            return
        if current == child["id"]:
            raise Refused(f"cannot {doing}: {_ref(parent)} is already under {_ref(child)} "
                          "(a ticket cannot be its own ancestor)", field="parent")
    raise Refused(f"cannot {doing}: the chain of parents above {_ref(parent)} is too deep",
                  field="parent")


def check_merge(duplicate: Mapping[str, Any], target: Mapping[str, Any]) -> None:
    """Refuse merging ``duplicate`` into ``target``: itself, across clients, a ticket
    already merged, or into a ticket that was itself merged (name the final one)."""
    doing = f"merge {_ref(duplicate)} into {_ref(target)}"
    if duplicate["id"] == target["id"]:
        raise Refused(f"cannot {doing}: a ticket cannot be merged into itself",
                      field="target")
    _same_client(duplicate, target, doing)
    if duplicate.get("merged_into"):
        raise Refused(f"cannot {doing}: {_ref(duplicate)} is already merged into another "
                      "ticket", field="target")
    if target.get("merged_into"):
        raise Refused(f"cannot {doing}: {_ref(target)} was itself merged into another "
                      "ticket; merge into that one", field="target")


def merge_summary(duplicate_ref: str, target_ref: str) -> tuple[str, str]:
    """The two timeline lines of a merge: on the duplicate, and on the target."""
    return (f"Merged into {target_ref}: closed as a duplicate",
            f"{duplicate_ref} merged into this ticket: its caller, notes, time and "
            "attachments are shown here")
