"""Named preconditions a checklist step can demand before it may be completed.

A gate returns why the step is blocked, or ``None``. The reasons are the exact words the
CLI refuses with and the TUI shows beside the step, so both front ends agree.
"""

from __future__ import annotations

from collections.abc import Callable

from deskcli.domain.account_work import identity_refusal
from deskcli.domain.enums import Status
from deskcli.domain.errors import Refused
from deskcli.domain.facts import TicketFacts

IDENTITY_NOT_VERIFIED = (
    "the caller's identity is not verified: no account or credential action until it is "
    "(verify by callback to the number on file, a second channel, their manager, or in person)"
)


def identity_verified(facts: TicketFacts) -> str | None:
    """Vishing callers pose as executives to get resets: verify before touching accounts.

    Tickets raised by monitoring have no caller, so there is nobody to verify.
    """
    if not facts.caller_verified:
        return IDENTITY_NOT_VERIFIED
    return None


def identity_for_account_work(facts: TicketFacts) -> str | None:
    """The identity rule where it belongs: on account work, not on every fix.

    Blocks only once the ticket is known to be account work (its category, or what was
    recorded so far); text typed into the step itself is checked when it is completed
    (``check_identity``), so a printer roller swap never needs a verified caller.
    """
    if facts.account_work is not None and not facts.caller_verified:
        return identity_refusal(facts.account_work)
    return None


def check_identity(facts: TicketFacts) -> None:
    """Refuse recording account work (``facts.account_work``) for an unverified caller.

    Called by the ticket service on every path that records work: a step with an identity
    gate, resolve, close; the facts passed in already include what is being recorded.
    """
    if reason := identity_for_account_work(facts):
        raise Refused(reason, field="verification")


def time_logged(facts: TicketFacts) -> str | None:
    if facts.minutes_logged <= 0:
        return ("no time is logged on this ticket: log the time spent before closing, "
                "billing and SLA reports depend on it")
    return None


def resolved(facts: TicketFacts) -> str | None:
    if facts.status is not Status.RESOLVED:
        return (f"the ticket is {facts.status.value}; it must be resolved (root cause and "
                "resolution recorded) before it can be closed")
    return None


GATES: dict[str, Callable[[TicketFacts], str | None]] = {
    "identity_verified": identity_verified,
    "identity_for_account_work": identity_for_account_work,
    "time_logged": time_logged,
    "resolved": resolved,
}
