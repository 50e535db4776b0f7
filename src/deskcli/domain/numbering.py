"""Human ticket numbers that stay unique across offline machines.

Scheme (see docs/architecture.md): numbers come from *leases*, contiguous blocks handed
out by one authority. A store that has never joined a team server is its own
authority and leases itself blocks from 1001 upward. Once a store joins a server, the
server is the only authority: it leases each client a block, and a client keeps
numbering offline from its block. Only if a block runs dry while offline does a new
ticket get a provisional label (``L-<client>-<n>``); the server gives it a real number
on the next sync, and the timeline records the renumbering.
"""

import re
from enum import StrEnum
from typing import NamedTuple

from deskcli.domain.errors import InvalidInput
from deskcli.domain.patterns import lazy

FIRST_NUMBER = 1001
LOCAL_BLOCK_SIZE = 1000


class Authority(StrEnum):
    LOCAL = "local"
    SERVER = "server"


class Lease(NamedTuple):
    """Numbers ``start`` up to but excluding ``end``; ``next`` is the next one unused."""

    start: int
    end: int
    next: int
    authority: Authority

    @property
    def remaining(self) -> int:
        return self.end - self.next


def take_number(leases: list[Lease]) -> tuple[int, Lease] | None:
    """The next free number from the oldest lease that still has one."""
    # Most stores hold one lease: no sort then (a bulk import takes a number per ticket).
    for lease in leases if len(leases) < 2 else sorted(leases, key=_start):
        if lease.end > lease.next:
            return lease.next, Lease(lease.start, lease.end, lease.next + 1, lease.authority)
    return None


def _start(lease: Lease) -> int:
    return lease.start


def next_local_block(leases: list[Lease], size: int = LOCAL_BLOCK_SIZE,
                     highest_used: int | None = None) -> Lease:
    """A standalone store's next self-granted block, after every number it ever used.

    ``highest_used`` covers numbers that arrived without a lease (an imported database),
    so a new block can never collide with them.
    """
    start = max((lease.end for lease in leases), default=FIRST_NUMBER)
    if highest_used is not None:
        start = max(start, highest_used + 1)
    return Lease(start, start + size, start, Authority.LOCAL)


def provisional_label(client_tag: str, seq: int) -> str:
    return f"L-{client_tag}-{seq}"


class TicketRef(NamedTuple):
    """What a technician typed to name a ticket: a number, a provisional label or an id."""

    number: int | None = None
    provisional: str | None = None
    ticket_id: str | None = None

    def __str__(self) -> str:
        if self.number is not None:
            return f"#{self.number}"
        return self.provisional or self.ticket_id or "?"


_NUMBER = lazy(r"#?(\d{1,12})")
_PROVISIONAL = lazy(r"L-[0-9a-f]{4,12}-\d+", re.IGNORECASE)
_UUID = lazy(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def parse_ref(text: str) -> TicketRef:
    raw = text.strip()
    if match := _NUMBER.fullmatch(raw):
        return TicketRef(number=int(match.group(1)))
    if _PROVISIONAL.fullmatch(raw):
        return TicketRef(provisional="L-" + raw[2:].lower())
    if _UUID.fullmatch(raw):
        return TicketRef(ticket_id=raw.lower())
    raise InvalidInput(
        f"{text!r} is not a ticket reference: use a number such as 4521 or #4521, "
        "a provisional label such as L-3f9a-2, or a ticket id",
        field="ticket",
    )


def display_ref(number: int | None, provisional: str | None) -> str:
    return f"#{number}" if number is not None else (provisional or "?")
