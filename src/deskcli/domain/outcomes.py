"""What the survey and page-on-call steps may record, given the channels this desk has.

A step is a record of what happened, not of what was meant: "survey sent (automatic)" on
a desk with no email channel, or a page "through PagerDuty" on a fresh install that pages
nobody, would be false. These rules decide what each choice means here, refuse a claim no
configured channel could have carried, and word the timeline entry; the console shows
``survey_note``/``page_note`` beside the step before it is completed, and the CLI refuses
with the same words.
"""

from typing import NamedTuple

from deskcli.domain.errors import Refused


class DeskChannels(NamedTuple):
    """The delivery channels configured in ``[notify]`` (names only, no secrets)."""

    #: The SMTP channel that writes to callers, if any.
    email: str | None = None
    #: Channels a P1 pages through automatically.
    pagers: tuple[str, ...] = ()


# --- the satisfaction survey ---------------------------------------------------------------

SURVEY_AUTOMATIC = "sent-automatically"
SURVEY_BY_HAND = "sent-by-hand"
SURVEY_NOT_SENT = "not-sent"


def survey_blocker(channels: DeskChannels, caller_email: str | None) -> str | None:
    """Why the survey cannot go out by itself on this ticket, or None if it will."""
    if channels.email is None:
        return "no email channel is configured ([notify] email in config.toml)"
    if not caller_email:
        return "the caller has no email address on the ticket"
    return None


def survey_note(channels: DeskChannels, caller_email: str | None) -> str | None:
    """Shown beside the survey step before it is completed, when it cannot go by itself."""
    blocker = survey_blocker(channels, caller_email)
    if blocker is None:
        return None
    return (f"The survey will not go out by itself: {blocker}. Send it yourself and "
            f"choose {SURVEY_BY_HAND}, or record {SURVEY_NOT_SENT}.")


class SurveyOutcome(NamedTuple):
    #: The timeline event: ``survey_sent`` (counts as a survey sent in the metrics),
    #: ``survey_queued`` (the outbound queue sends it and records ``survey_sent`` then) or
    #: ``survey_not_sent``.
    kind: str
    summary: str
    via: str


def survey_outcome(choice: str, channels: DeskChannels,
                   caller_email: str | None) -> SurveyOutcome:
    """What completing the survey step with ``choice`` records; refuses a false claim."""
    blocker = survey_blocker(channels, caller_email)
    if choice == SURVEY_AUTOMATIC:
        if blocker is not None:
            raise Refused(f"the survey cannot be sent automatically: {blocker}. Choose "
                          f"{SURVEY_BY_HAND} if you sent it yourself, or {SURVEY_NOT_SENT}",
                          field="survey")
        return SurveyOutcome("survey_queued", "Satisfaction survey queued: it goes out by "
                             f"email ({channels.email}) after the survey delay", "email")
    if choice == SURVEY_BY_HAND:
        return SurveyOutcome("survey_sent", "Satisfaction survey sent (by hand)", "by-hand")
    why = blocker or "the technician chose not to send it"
    return SurveyOutcome("survey_not_sent", f"Satisfaction survey not sent: {why}", "none")


# --- paging on-call -------------------------------------------------------------------------

PAGE_BY_PHONE = "phone"


def page_note(channels: DeskChannels) -> str | None:
    """Shown beside the page step (and as a warning on P1s) when nothing pages by itself."""
    if channels.pagers:
        return None
    return ("No pager is configured: deskcli pages nobody. Call or page the on-call "
            "engineer yourself, then record how you reached them.")


def page_summary(how: str, channels: DeskChannels) -> str:
    """The timeline entry of the page step: who was paged, how, and what deskcli did."""
    reached = "by phone" if how == PAGE_BY_PHONE else f"through {how}"
    if channels.pagers:
        return (f"On-call paged {reached}; deskcli pages through "
                f"{', '.join(channels.pagers)}")
    if how != PAGE_BY_PHONE:
        reached += " by hand"
    return f"On-call paged {reached}: no pager is configured in deskcli"


def unpaged_warning(count: int) -> str | None:
    """The persistent warning for open P1s on a desk with no pager and no page recorded."""
    if count <= 0:
        return None
    tickets = "P1 ticket" if count == 1 else "P1 tickets"
    return (f"{count} open {tickets} and no pager configured: page on-call by phone and "
            "record it on the ticket's page step")
