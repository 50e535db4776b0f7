"""Ticket tags: what a tag may be, and how two offline edits of a ticket's tags merge.

A tag is one lower-case word (``outage``, ``erp-down``, ``vip``): it is typed on the
command line, shown in narrow queue columns, piped through ``cut`` and ``awk`` and matched
exactly by ``deskcli queue --tag``, so it holds no spaces, punctuation or upper case.
Upper-case ASCII letters are read as lower case (``--tag Outage`` is ``outage``); anything
else outside the accepted form is refused with the form spelled out.

Tags merge as an observed-remove set: adding a tag appends an *add* record with its own
id; removing it appends one *remove* record per add record the remover could see. A tag is
on a ticket while some add record of it has no remove record. So two technicians who add
different tags offline both keep theirs, and an add made concurrently with a remove of the
same tag (one the remover never saw) survives: nothing anyone added disappears unseen. The
records are append-only and never conflict, so every replica computes the same set in any
order of arrival.
"""

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from deskcli.domain.errors import InvalidInput
from deskcli.domain.patterns import lazy

TAG_MAX = 40
#: One lower-case word: letters a-z, digits and hyphens, starting with a letter or digit.
TAG_PATTERN = lazy(rf"[a-z0-9][a-z0-9-]{{0,{TAG_MAX - 1}}}")
ACCEPTED = (f"a tag is one lower-case word of at most {TAG_MAX} characters: letters a-z, "
            "digits and hyphens, starting with a letter or digit (e.g. outage, erp-down)")
#: At most this many tags on one ticket: a tag is a label to filter by, not a note.
MAX_TAGS = 20

ADD = "add"
REMOVE = "remove"
ACTIONS = (ADD, REMOVE)


def parse_tag(text: object) -> str:
    """A tag as stored, from what someone typed; InvalidInput naming the accepted form."""
    if not isinstance(text, str):
        raise InvalidInput(f"a tag must be text; {ACCEPTED}", field="tags")
    word = text.strip()
    if word.isascii():
        word = word.lower()
    if not word:
        raise InvalidInput(f"empty tag; {ACCEPTED}", field="tags")
    if not TAG_PATTERN.fullmatch(word):
        shown = word if word.isprintable() else word.encode("unicode_escape").decode()
        raise InvalidInput(f"{shown[:60]!r} is not a tag; {ACCEPTED}", field="tags")
    return word


def parse_tags(values: Iterable[object]) -> list[str]:
    """Tags in the order given, each once; ``"a,b"`` counts as two (as on the command
    line, where ``--tag outage,erp`` and ``--tag outage --tag erp`` mean the same)."""
    out: list[str] = []
    for value in values:
        parts = value.split(",") if isinstance(value, str) else [value]
        for part in parts:
            if isinstance(part, str) and not part.strip() and len(parts) > 1:
                continue  # "a,,b" or a trailing comma: nothing between the commas
            tag = parse_tag(part)
            if tag not in out:
                out.append(tag)
    return out


class TagChange(NamedTuple):
    """What a change of one ticket's tags does, worked out before anything is written."""

    #: Tags to add (not on the ticket yet), in the order asked.
    added: tuple[str, ...]
    #: Tags to remove (on the ticket now), in the order asked.
    removed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def summary(self) -> str:
        """``Tags: +outage +erp −vip``: the timeline's line for it."""
        return "Tags: " + " ".join([f"+{t}" for t in self.added] +
                                   [f"−{t}" for t in self.removed])


def plan_change(current: Sequence[str], add: Sequence[str],
                remove: Sequence[str]) -> TagChange:
    """What adding ``add`` and removing ``remove`` changes on a ticket holding ``current``.

    Asking to add and remove the same tag at once is refused (which one was meant?);
    adding a tag already there or removing one that is not is no change at all. A ticket
    may carry at most ``MAX_TAGS`` tags.
    """
    both = [tag for tag in add if tag in remove]
    if both:
        raise InvalidInput(f"tag {both[0]!r} is both added and removed: give it once",
                           field="tags")
    have = set(current)
    added = tuple(tag for tag in add if tag not in have)
    removed = tuple(tag for tag in remove if tag in have)
    if len(have) + len(added) - len(removed) > MAX_TAGS:
        raise InvalidInput(f"a ticket carries at most {MAX_TAGS} tags; this one would have "
                           f"{len(have) + len(added) - len(removed)}", field="tags")
    return TagChange(added, removed)


def current_tags(records: Iterable[tuple[str, str, str, str | None]]) -> list[str]:
    """The tags on a ticket from its tag records ``(id, tag, action, removes)``, sorted.

    The same rule the store keeps in ``ticket_tags`` (migration's trigger), for tests and
    for anything holding records outside the store.
    """
    adds: dict[str, str] = {}
    removed: set[tuple[str, str]] = set()
    for record_id, tag, action, removes in records:
        if action == ADD:
            adds[record_id] = tag
        elif action == REMOVE and removes:
            removed.add((removes, tag))
    return sorted({tag for record_id, tag in adds.items() if (record_id, tag) not in removed})
