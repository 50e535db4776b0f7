"""Acting on many tickets at once: what a bulk action is, and what it did to each ticket.

A bulk action is one of the single-ticket changes (set fields, tags, a note, a reply to
the caller, a link to a parent, resolve, close) applied to a list of tickets. The service
(``services/bulk.py``) runs the SAME checks the single-ticket commands run, ticket by
ticket, so a refusal reads exactly as it would for that ticket alone; what is shared by
every ticket (the note, the resolution, the tags) is checked once, here, before any
ticket is looked at: a vague resolution note is one refusal, not forty.

Plain data and pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deskcli.domain import validation
from deskcli.domain.enums import ResolutionCategory
from deskcli.domain.errors import InvalidInput
from deskcli.domain.numbering import TicketRef, parse_ref
from deskcli.domain.tags import parse_tags

#: Fields a bulk ``set`` may change: the ones a technician changes across an outage.
#: (Summary, caller and the like are one ticket's own facts, never shared.)
BULK_FIELDS = ("status", "priority", "assignee", "queue", "type", "category", "impact",
               "urgency")


class BulkKind(StrEnum):
    SET = "set"
    NOTE = "note"
    UPDATE = "update"
    LINK = "link"
    RESOLVE = "resolve"
    CLOSE = "close"


@dataclass(frozen=True)
class BulkAction:
    """One change for every selected ticket. Build with the class methods, which check
    the shared parts (``InvalidInput``/``Refused`` before anything is read or written)."""

    kind: BulkKind
    #: SET: field -> new value (``BULK_FIELDS``); may be empty when only tags change.
    fields: Mapping[str, Any] = field(default_factory=dict)
    #: SET: tags to add and to remove (already checked by ``domain.tags``).
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    #: SET with a status, and UPDATE/NOTE: recorded with the change.
    reason: str | None = None
    #: NOTE and UPDATE: the text; RESOLVE: the shared resolution note.
    text: str | None = None
    #: RESOLVE: the root cause; RESOLVE/CLOSE: the resolution category.
    root_cause: str | None = None
    category: str | None = None
    #: LINK: the parent ticket.
    parent: TicketRef | None = None
    #: RESOLVE: also resolve each ticket's children with the same note (``link``).
    children: bool = False

    # --- building -------------------------------------------------------------------

    @classmethod
    def set(cls, fields: Mapping[str, Any] | None = None, *, add_tags: Iterable[str] = (),
            remove_tags: Iterable[str] = (), reason: str | None = None) -> BulkAction:
        changes = {k: v for k, v in (fields or {}).items() if v is not None}
        unknown = sorted(set(changes) - set(BULK_FIELDS))
        if unknown:
            raise InvalidInput(f"cannot set {unknown[0]!r} on several tickets at once; "
                               f"fields for a bulk change: {', '.join(BULK_FIELDS)}",
                               field=unknown[0])
        adding, removing = parse_tags(add_tags), parse_tags(remove_tags)
        if not changes and not adding and not removing:
            raise InvalidInput("nothing to change: give at least one field or tag")
        both = [tag for tag in adding if tag in removing]
        if both:
            raise InvalidInput(f"tag {both[0]!r} is both added and removed: give it once",
                               field="tags")
        return cls(BulkKind.SET, fields=changes, add_tags=tuple(adding),
                   remove_tags=tuple(removing), reason=reason)

    @classmethod
    def tags(cls, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> BulkAction:
        return cls.set(add_tags=add, remove_tags=remove)

    @classmethod
    def note(cls, text: str | None, *, internal: bool) -> BulkAction:
        """An internal note (``internal``) or a public update: each caller gets their own
        message, through the outbound queue, about their own ticket."""
        body = validation.clean_text(text, field="note", required=True)
        return cls(BulkKind.NOTE if internal else BulkKind.UPDATE, text=body)

    @classmethod
    def link(cls, parent: str | TicketRef) -> BulkAction:
        ref = parse_ref(parent) if isinstance(parent, str) else parent
        return cls(BulkKind.LINK, parent=ref)

    @classmethod
    def resolve(cls, *, root_cause: str | None, resolution: str | None,
                category: str | None = None, children: bool = False) -> BulkAction:
        """One resolution for every ticket: the specificity rule runs once, here."""
        cause = validation.clean_text(root_cause, field="root_cause", required=True)
        note = validation.check_resolution(resolution)
        if category:
            ResolutionCategory.parse(category, what="category")
        return cls(BulkKind.RESOLVE, text=note, root_cause=cause, category=category,
                   children=children)

    @classmethod
    def close(cls, *, category: str | None = None) -> BulkAction:
        if category:
            ResolutionCategory.parse(category, what="category")
        return cls(BulkKind.CLOSE, category=category)

    # --- describing -------------------------------------------------------------------

    def describe(self) -> str:
        """What the action does, in a few words (a preview's headline)."""
        if self.kind is BulkKind.SET:
            parts = [f"{k.replace('_', ' ')} → {v or '—'}" for k, v in self.fields.items()]
            parts += [f"+{t}" for t in self.add_tags] + [f"−{t}" for t in self.remove_tags]
            return "set " + ", ".join(parts)
        if self.kind is BulkKind.NOTE:
            return "add an internal note"
        if self.kind is BulkKind.UPDATE:
            return "send an update to each caller"
        if self.kind is BulkKind.LINK:
            return f"link under {self.parent}"
        if self.kind is BulkKind.RESOLVE:
            return "resolve" + (" with their children" if self.children else "")
        return "close"


class OutcomeState(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class TicketOutcome:
    """What the action does (or did) to one ticket."""

    #: As the technician gave it (``4521``), so a refusal names what they typed.
    given: str
    #: ``#4521`` once found; the given text otherwise.
    ref: str
    ticket_id: str | None
    state: OutcomeState
    #: What changes, one short phrase each (``priority P3 → P2``, ``internal note``).
    changes: tuple[str, ...] = ()
    #: Why it was refused: the single-ticket command's own message.
    reason: str | None = None

    def line(self) -> str:
        """``#4521: cannot close #4521: ...`` without saying the reference twice."""
        if self.state is OutcomeState.REFUSED:
            text = self.reason or "refused"
            return text if text.startswith(self.ref) or f" {self.ref}" in text \
                else f"{self.ref}: {text}"
        if self.state is OutcomeState.UNCHANGED:
            return f"{self.ref}: no change"
        return f"{self.ref}: {'; '.join(self.changes) or 'changed'}"


@dataclass(frozen=True)
class BulkResult:
    """A preview (``applied`` False) or the outcome of applying a bulk action."""

    action: BulkAction
    outcomes: tuple[TicketOutcome, ...]
    #: True once written; a preview and an all-or-nothing run that met a refusal write
    #: nothing.
    applied: bool
    keep_going: bool = False

    def _with(self, state: OutcomeState) -> list[TicketOutcome]:
        return [o for o in self.outcomes if o.state is state]

    @property
    def changed(self) -> list[TicketOutcome]:
        return self._with(OutcomeState.CHANGED)

    @property
    def unchanged(self) -> list[TicketOutcome]:
        return self._with(OutcomeState.UNCHANGED)

    @property
    def refused(self) -> list[TicketOutcome]:
        return self._with(OutcomeState.REFUSED)

    def headline(self) -> str:
        """``set priority → P2: 38 tickets change, 1 already so, 1 refused``."""
        parts = [f"{_count(len(self.changed), 'ticket')} "
                 + ("changed" if self.applied else "would change")]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already so")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return f"{self.action.describe()}: {', '.join(parts)}"

    def lines(self) -> list[str]:
        """The headline, then one line per ticket (refusals first: they need a look)."""
        return [self.headline(), *(o.line() for o in self.refused),
                *(o.line() for o in self.changed), *(o.line() for o in self.unchanged)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def unique_refs(texts: Sequence[str]) -> tuple[list[TicketRef], list[str]]:
    """Parse references, dropping exact repeats; returns (refs, the texts that are not
    references at all). A bad reference is named, never skipped silently."""
    refs: list[TicketRef] = []
    bad: list[str] = []
    for text in texts:
        try:
            ref = parse_ref(text)
        except InvalidInput:
            bad.append(text)
            continue
        if ref not in refs:
            refs.append(ref)
    return refs, bad


def read_ref_lines(text: str) -> list[str]:
    """References from a stream, one per line: blank lines and ``#`` comments ignored.

    ``#4521`` is a reference, not a comment: a comment is ``#`` followed by a space or
    nothing, or ``#`` followed by anything that is not a digit.
    """
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and not line[1:2].isdigit()):
            continue
        # A trailing comment after the reference: "4521  # the ERP one".
        head, sep, _ = line.partition(" #")
        out.append((head if sep else line).strip())
    return out
