"""Keeping the caller informed: the intake acknowledgement and communication checkpoints.

Silence is what makes callers anxious and chase; the protocol is to tell them at intake
that the ticket is seen, who owns it and when they will hear next, and then never let a
ticket go quiet for longer than the team's checkpoint interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def next_update_by(now: datetime, checkpoint: timedelta, response_due: datetime) -> datetime:
    """Promise the next update no later than the checkpoint and no later than the SLA."""
    return min(now + checkpoint, max(response_due, now))


def draft_acknowledgement(*, ref: str, caller: str | None, owner: str, summary: str,
                          next_update: datetime) -> str:
    """The line read or sent to the caller when the ticket is opened; edited freely."""
    greeting = f"Hi {caller.split()[0]}, " if caller else ""
    when = next_update.strftime("%H:%M UTC on %a %d %b")
    return (f"{greeting}your ticket {ref} ({summary}) is logged and {owner} owns it. "
            f"You will hear from us by {when}, sooner if it is fixed.")


def is_silent(*, is_open: bool, created_at: datetime, last_contact_at: datetime | None,
              now: datetime, checkpoint: timedelta) -> bool:
    """True when an open ticket has gone longer than the checkpoint without a word to the caller."""
    if not is_open:
        return False
    last = last_contact_at or created_at
    return now - last > checkpoint
