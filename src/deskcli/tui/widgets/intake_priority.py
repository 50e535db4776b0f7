"""Priority help on the new-ticket pages, beside the checklist's priority step.

It suggests the impact from how many people the caller said are affected, follows the
impact × urgency matrix's suggested priority until the technician picks one of their own,
and keeps the priority guide and the opening page's SLA preview current for the client
and its contract tier (read in a thread worker as the client is typed). The suggestion
and the due times are the domain's (``priority``, ``sla``); this widget only places them.
It has no area of its own on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from deskcli.domain import validation
from deskcli.domain.checklist import StepSpec
from deskcli.domain.enums import Priority
from deskcli.domain.errors import InvalidInput
from deskcli.domain.priority import impact_from_users
from deskcli.domain.sla import compute_clock
from deskcli.tui.session import DeskSession
from deskcli.tui.widgets.priority_guide import PriorityGuide, suggestion
from deskcli.tui.widgets.step_form import StepForm


class PriorityAdvisor(Widget):
    DEFAULT_CSS = """
    PriorityAdvisor {
        display: none;
    }
    """

    @dataclass
    class _Tier(Message):
        client: str | None
        tier: str | None

    def __init__(self, session: DeskSession, steps: Sequence[StepSpec],
                 form: Callable[[StepSpec], StepForm],
                 caller_client: Callable[[], str | None]) -> None:
        """``steps``: the intake's pages; ``form``: a page's step form;
        ``caller_client``: the client of the caller picked on the first page."""
        super().__init__()
        self.session = session
        self.steps = steps
        self.form = form
        self.caller_client = caller_client
        self._suggested: str | None = None
        self._tier: tuple[str | None, str | None] = (None, None)

    @property
    def step(self) -> StepSpec | None:
        return next((s for s in self.steps if s.action == "set_priority"), None)

    def prefill_impact(self) -> None:
        """Suggest the impact from how many people the caller said are affected."""
        step = self.step
        if step is None or step.field("impact") is None:
            return
        form = self.form(step)
        if form.values().get("impact"):
            return
        users = None
        for other in self.steps:
            for spec in other.fields:
                if spec.maps_to == "users_affected":
                    raw = self.form(other).values().get(spec.key)
                    try:
                        users = validation.count(raw, field=spec.key)
                    except InvalidInput:
                        users = None
        if users is not None:
            form.set_value("impact", impact_from_users(users).value)

    def changed(self, key: str) -> None:
        """Field ``key`` of the priority step (or the ticket type) changed."""
        step = self.step
        if step is None:
            return
        values = self.form(step).values()
        if key in ("impact", "urgency") and step.field("priority") is not None:
            suggested = suggestion(values.get("impact"), values.get("urgency"))
            chosen = values.get("priority")
            # Follow the suggestion until the technician picks a priority of their own.
            if suggested is not None and (not chosen or chosen == self._suggested):
                self._suggested = suggested.value
                self.form(step).set_value("priority", suggested.value)
        self.refresh_guide()

    def client(self) -> str | None:
        """The client typed on the opening page, else the picked caller's."""
        opener = next((s for s in self.steps if s.action == "open"), None)
        typed = None
        if opener is not None:
            for spec in opener.fields:
                if spec.maps_to == "client":
                    typed = self.form(opener).values().get(spec.key)
        return typed or self.caller_client() or None

    def refresh_guide(self) -> None:
        client = self.client()
        if self._tier[0] != client:
            self._fetch_tier(self.session, client)
        self._draw()

    @work(thread=True, exclusive=True, group="intake-tier")
    def _fetch_tier(self, session: DeskSession, client: str | None) -> None:
        self.post_message(self._Tier(client, session.client_tier(client)))

    def on_priority_advisor__tier(self, message: _Tier) -> None:
        if message.client != self.client():
            return  # an answer for what was typed before: a newer look-up is on its way
        self._tier = (message.client, message.tier)
        self._draw()

    def _draw(self) -> None:
        step = self.step
        if step is None:
            return
        desk = self.session.desk
        values = self.form(step).values()
        client = self.client()
        tier = self._tier[1] if self._tier[0] == client else None
        self.screen.query_one(PriorityGuide).show(
            impact=values.get("impact"), urgency=values.get("urgency"),
            chosen=values.get("priority"), policy=desk.config.sla, now=desk.now(),
            client=client, tier=tier)
        opening = self.screen.query("#open-sla")
        chosen = values.get("priority")
        if opening and chosen:
            clock = compute_clock(desk.now(), Priority(chosen), desk.config.sla,
                                  tier=tier if tier in desk.config.sla.tiers else None)
            opening.first(Static).update(Text(
                f"{chosen} for {client or 'no client'}: first response by "
                f"{clock.response_due:%H:%M}, resolve by {clock.resolve_due:%H:%M %a %d %b} "
                "UTC. The acknowledgement for the caller is drafted when the ticket opens."))
