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
from deskcli.domain.enums import Priority, ResolutionCategory, Status
from deskcli.domain.errors import InvalidInput
from deskcli.domain.numbering import TicketRef, parse_ref
from deskcli.domain.tags import parse_tags
from deskcli.domain.transitions import check_direct_move

#: Fields a bulk ``set`` may change. The summary and the error text are one ticket's own
#: words and are never copied across tickets.
BULK_FIELDS = ("status", "priority", "assignee", "queue", "type", "category", "impact",
               "urgency", "asset", "channel", "client", "flagged")


class BulkKind(StrEnum):
    SET = "set"
    NOTE = "note"
    UPDATE = "update"
    LINK = "link"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    LOG_TIME = "log-time"
    ESCALATE = "escalate"
    STEP = "step"
    ATTACH = "attach"
    MERGE = "merge"


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
    #: LINK: the parent ticket; MERGE: the ticket merged into.
    parent: TicketRef | None = None
    #: RESOLVE: also resolve each ticket's children with the same note (``link``).
    children: bool = False
    #: ESCALATE: the handoff fields; STEP: what the step collects; LOG_TIME: minutes;
    #: ATTACH: the file's path and whether links are followed.
    values: Mapping[str, Any] = field(default_factory=dict)
    #: STEP: the step's key.
    step: str | None = None

    # --- building -------------------------------------------------------------------

    @classmethod
    def set(cls, fields: Mapping[str, Any] | None = None, *, add_tags: Iterable[str] = (),
            remove_tags: Iterable[str] = (), reason: str | None = None) -> BulkAction:
        changes = {k: v for k, v in (fields or {}).items() if v is not None}
        unknown = sorted(set(changes) - set(BULK_FIELDS))
        if unknown:
            raise InvalidInput(f"cannot set {unknown[0]!r} on several tickets at once (it "
                               "is each ticket's own text); fields for a bulk change: "
                               f"{', '.join(BULK_FIELDS)}", field=unknown[0])
        # Shared values are checked once, before any ticket: a bad status or priority is
        # one refusal, not forty, and "In Progress" means in-progress on every ticket.
        if changes.get("status") is not None:
            status = Status(Status.parse(str(changes["status"]), what="status").value)
            check_direct_move(status)
            changes["status"] = status.value
        if changes.get("priority") is not None:
            changes["priority"] = Priority.parse(str(changes["priority"])).value
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
    def merge(cls, target: str | TicketRef) -> BulkAction:
        """Merge each ticket into ``target`` as a duplicate (``domain.links``)."""
        ref = parse_ref(target) if isinstance(target, str) else target
        return cls(BulkKind.MERGE, parent=ref)

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

    @classmethod
    def reopen(cls, *, reason: str | None) -> BulkAction:
        if not (reason or "").strip():
            raise InvalidInput("reopening needs a reason: say why the fix did not hold",
                               field="reason")
        return cls(BulkKind.REOPEN, reason=reason)

    @classmethod
    def log_time(cls, duration: str, *, note: str | None = None) -> BulkAction:
        """The same time on every ticket (each ticket is charged the whole duration)."""
        minutes = validation.time_entry(duration)
        text = validation.clean_text(note, field="note", max_len=1000)
        return cls(BulkKind.LOG_TIME, text=text, values={"duration": duration,
                                                          "minutes": minutes})

    @classmethod
    def escalate(cls, values: Mapping[str, Any]) -> BulkAction:
        """The same handoff for every ticket; a ticket's own error text and asset fill
        in what is not given, so completeness is checked per ticket."""
        return cls(BulkKind.ESCALATE, values=dict(values))

    @classmethod
    def complete_step(cls, step: str, values: Mapping[str, Any] | None = None, *,
                      skip: str | None = None) -> BulkAction:
        return cls(BulkKind.STEP, step=step, values=dict(values or {}), reason=skip)

    @classmethod
    def attach(cls, path: str, *, follow_symlinks: bool = False) -> BulkAction:
        return cls(BulkKind.ATTACH, values={"path": path, "follow_symlinks": follow_symlinks})

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
        if self.kind is BulkKind.REOPEN:
            return "reopen"
        if self.kind is BulkKind.LOG_TIME:
            return f"log {self.values.get('minutes')} min"
        if self.kind is BulkKind.ESCALATE:
            return f"escalate to {self.values.get('queue') or '?'}"
        if self.kind is BulkKind.STEP:
            return f"{'skip' if self.reason is not None else 'complete'} step {self.step}"
        if self.kind is BulkKind.MERGE:
            return f"merge into {self.parent}"
        if self.kind is BulkKind.ATTACH:
            return f"attach {self.values.get('path')}"
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
    seen: set[TicketRef] = set()
    bad: list[str] = []
    for text in texts:
        try:
            ref = parse_ref(text)
        except InvalidInput:
            bad.append(text)
            continue
        if ref not in seen:
            seen.add(ref)
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
