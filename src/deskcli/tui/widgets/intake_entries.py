"""What has been entered on the new-ticket pages, read back as the records the services
take: the caller, each step's values, and the new-ticket record (caller, summary, type,
and every step field mapped to a ticket column).

The pages hold the inputs; this reader only collects them (intake's own inputs are found
once and remembered), so the screen and its draft read the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Input, Select

from deskcli.domain import validation
from deskcli.domain.checklist import StepSpec
from deskcli.domain.enums import Channel
from deskcli.domain.errors import DeskError
from deskcli.domain.intake import NewTicket
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.step_form import StepForm

#: Ticket columns a step field maps to (``maps_to``), as the keys of a new-ticket record.
NEW_TICKET_KEY = {
    "verbatim": "verbatim", "error_text": "error", "doing": "doing",
    "users_affected": "users_affected", "priority": "priority", "channel": "channel",
    "client": "client", "asset": "asset", "category": "category", "caller_email": "email",
    "type": "type",
}

#: The intake's own inputs (beside the step forms) and the field their errors name.
LEAD_FIELDS = {"caller-name": "caller", "caller-email": "email", "caller-phone": "phone",
               "summary": "summary"}


class IntakeEntries:
    def __init__(self, pages: DOMNode, steps: Sequence[StepSpec],
                 form: Callable[[StepSpec], StepForm],
                 skipped: Callable[[], Mapping[str, str]], tech: Callable[[], str]) -> None:
        """``pages``: the node holding the inputs; ``form``: a page's step form;
        ``skipped``: the steps not needed for the channel chosen; ``tech``: who opens
        (each read when needed: the pages are built after this reader)."""
        self.pages = pages
        self.steps = steps
        self.form = form
        self.skipped = skipped
        self.tech = tech
        self._widgets: dict[str, Widget | None] = {}

    def value(self, selector: str) -> str:
        """The text of one of intake's own inputs (empty when it is not there)."""
        if selector not in self._widgets:
            found = self.pages.query(selector)
            self._widgets[selector] = found.first() if found else None
        widget = self._widgets[selector]
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        return ""

    def planned_channel(self) -> str:
        found = self.pages.query("#intake-channel")
        if found:
            value = found.first(Select).value
            if isinstance(value, str):
                return value
        return Channel.PHONE.value

    def caller(self) -> dict[str, Any]:
        """The caller as a new-ticket record's fields (only those filled in)."""
        verify = next((s for s in self.steps if s.action == "verify_identity"), None)
        method = self.form(verify).values().get("method") if (
            verify and verify.key not in self.skipped()) else None
        record = {"caller": self.value("#caller-name"), "email": self.value("#caller-email"),
                  "phone": self.value("#caller-phone"), "verified": method}
        return {k: v for k, v in record.items() if v}

    def step_values(self) -> dict[str, dict[str, Any]]:
        skipped = self.skipped()
        return {step.key: self.form(step).values() for step in self.steps
                if step.key not in skipped}

    def record(self) -> dict[str, Any]:
        """The new-ticket record: caller, summary, type, and every field mapped to a column."""
        record: dict[str, Any] = {"summary": self.value("#summary"),
                                  "type": self.value("#ticket-type") or None,
                                  "assignee": self.tech(), **self.caller()}
        for step in self.steps:
            values = self.form(step).values()
            for spec in step.fields:
                key = NEW_TICKET_KEY.get(spec.maps_to or "")
                if key and spec.key in values and not record.get(key):
                    record[key] = values[spec.key]
        return {k: v for k, v in record.items() if v not in (None, "")}

    def recheck(self, widget: Input) -> None:
        """A message beside one of intake's own fields goes as soon as the value is
        accepted (the same checks the page runs on ctrl+s)."""
        field = LEAD_FIELDS.get(widget.id or "")
        if field is None:
            return
        slots = [s for s in self.pages.query(FieldError)
                 if s.field == field and s.has_class("-shown")]
        if not slots:
            return
        try:
            if field == "summary":
                validation.summary(widget.value)
            else:
                NewTicket.from_mapping({"summary": "-", **self.caller()})
        except DeskError as error:
            if error.field == field:
                return  # still wrong: the message stands
        for slot in slots:
            slot.clear()
