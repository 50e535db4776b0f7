"""The small form behind each bulk action: what to set, write or link on the marked tickets.

Each is a ``FormModal`` whose save is a *preview*: the bulk service is asked what the
change would do to every marked ticket, nothing is written, and the form closes with that
preview for ``BulkPreviewScreen``. Bad input (a blank note, a word that is not a tag, a
vague resolution) is refused by the domain while the form is still open, beside the field
it names, like any other dialog. The status, priority and owner forms are the
single-ticket ones with a bulk save (the status form offering every status a bare change
can reach, rather than one ticket's moves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static
from textual.widgets.option_list import Option

from deskcli.domain.bulk import BulkAction, BulkResult
from deskcli.domain.enums import Priority, ResolutionCategory, Status
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.transitions import ALLOWED, check_direct_move
from deskcli.tui.screens.assignee import AssigneeScreen
from deskcli.tui.screens.bulk_menu import marked
from deskcli.tui.screens.form_modal import FormModal
from deskcli.tui.screens.priority import PriorityScreen
from deskcli.tui.screens.status import StatusChoice
from deskcli.tui.widgets.field_error import FieldError
from deskcli.tui.widgets.text_box import TextBox


def _settable(status: Status) -> bool:
    """A status a bare status change can reach: some status may move to it, and it has
    no verb of its own (escalating needs handoff notes per ticket; resolving and closing
    have forms of their own here)."""
    try:
        check_direct_move(status)
    except Refused:
        return False
    return any(status in targets for targets in ALLOWED.values())


#: The statuses the status form offers, in workflow order.
SETTABLE = tuple(s for s in Status if _settable(s))


class BulkForm(FormModal):
    """A form whose save asks for a preview of the change on every marked ticket."""

    SAVE_LABEL = "Preview"
    #: The action's name, as ``BulkMenuScreen`` answers it.
    KIND = ""

    ids: list[str]
    #: The preview, once the bulk service has made one (then the form closes).
    preview: BulkResult | None

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"{len(ids)} marked")
        self._marked(ids)

    def _marked(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        self.preview = None

    @property
    def these(self) -> str:
        return f"the {marked(len(self.ids))}"

    def request(self, values: dict[str, Any]) -> BulkAction:
        """The bulk action the form's values describe (the store is locked)."""
        raise NotImplementedError

    def perform(self, values: dict[str, Any]) -> str:
        # Under the session lock already (FormModal._save): the service directly.
        self.preview = self.session.bulk.preview(self.ids, self.request(values))
        return ""

    def on_form_modal_saved(self, message: FormModal.Saved) -> None:
        message.prevent_default()  # no "saved" notice: nothing is written yet
        if self.is_current:  # ctrl+s pressed twice on a slow preview: close once
            self.dismiss(True)


# --- fields -------------------------------------------------------------------------------


class BulkStatus(BulkForm, StatusChoice):
    """The status dialog offering every status a bare change can reach, saved in bulk."""

    KIND = "status"
    REASON_LABEL = "Reason (on each timeline; needed to reopen)"
    HELP = ("A ticket whose workflow does not allow the move is named in the preview. "
            "Resolve and close have actions of their own; escalating needs each ticket's "
            "handoff notes.")

    def heading(self) -> str:
        return f"Status of {self.these}"

    def status_options(self) -> list[Option]:
        return [Option(s.label, id=s.value) for s in SETTABLE]

    def request(self, values: dict[str, Any]) -> BulkAction:
        status, reason = self.chosen(values)
        return BulkAction.set({"status": status}, reason=reason)


class BulkPriority(BulkForm, PriorityScreen):
    """The single-ticket priority list (with each priority's meaning), saved in bulk."""

    KIND = "priority"

    def __init__(self, ids: Sequence[str]) -> None:
        PriorityScreen.__init__(self, f"{len(ids)} marked", Priority.P3.value)
        self._marked(ids)

    def heading(self) -> str:
        return f"Priority of {self.these}"

    def request(self, values: dict[str, Any]) -> BulkAction:
        return BulkAction.set({"priority": values["priority"]})


class BulkAssignee(BulkForm, AssigneeScreen):
    KIND = "assignee"

    def __init__(self, ids: Sequence[str]) -> None:
        AssigneeScreen.__init__(self, f"{len(ids)} marked", None)
        self._marked(ids)

    def heading(self) -> str:
        return f"Owner of {self.these}"

    def request(self, values: dict[str, Any]) -> BulkAction:
        # Empty unassigns: "" (not None, which would mean "leave it").
        return BulkAction.set({"assignee": values["assignee"].strip()})


class BulkQueue(BulkForm):
    KIND = "queue"

    def heading(self) -> str:
        return f"Queue of {self.these}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Queue", classes="field-label")
            yield Input(placeholder="e.g. network, tier2; empty takes them out of any queue",
                        id="bulk-queue", compact=True)
            yield FieldError("queue")

    def on_mount(self) -> None:
        self.query_one("#bulk-queue", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"queue": self.query_one("#bulk-queue", Input).value}

    def request(self, values: dict[str, Any]) -> BulkAction:
        return BulkAction.set({"queue": values["queue"].strip()})


class BulkTags(BulkForm):
    KIND = "tags"

    def heading(self) -> str:
        return f"Tags of {self.these}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Add", classes="field-label")
            yield Input(placeholder="e.g. outage erp (lower-case words, spaces between)",
                        id="bulk-tag-add", compact=True)
        with Vertical(classes="field"):
            yield Label("Remove", classes="field-label")
            yield Input(placeholder="e.g. vip", id="bulk-tag-remove", compact=True)
        yield FieldError("tags")  # the domain names the word, in either field

    def on_mount(self) -> None:
        self.query_one("#bulk-tag-add", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"add": self.query_one("#bulk-tag-add", Input).value,
                "remove": self.query_one("#bulk-tag-remove", Input).value}

    def request(self, values: dict[str, Any]) -> BulkAction:
        add, remove = split_words(values["add"]), split_words(values["remove"])
        if not add and not remove:
            raise InvalidInput("type a tag to add or one to remove", field="tags")
        return BulkAction.tags(add=add, remove=remove)


def split_words(text: str) -> list[str]:
    """Tags as typed: separated by spaces or commas. The domain checks each word."""
    return [word for word in text.replace(",", " ").split() if word]


# --- words -------------------------------------------------------------------------------


class BulkText(BulkForm):
    """An internal note or an update to each caller: one text for every ticket."""

    PUBLIC = False

    def heading(self) -> str:
        if self.PUBLIC:
            return f"Update to the callers of {self.these}"
        return f"Internal note on {self.these}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Text", classes="field-label")
            yield TextBox("", id="bulk-text", soft_wrap=True, tab_behavior="focus",
                          show_line_numbers=False)
            yield FieldError("note")
        if self.PUBLIC:
            yield Static("Each caller gets a message of their own, with their own ticket "
                         "number, through the outbound queue; it also counts as the "
                         "contact that restarts each communication checkpoint.",
                         classes="dialog-help")
        else:
            yield Static("Seen by the team only; no caller is told.", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#bulk-text", TextBox).focus()

    def gather(self) -> dict[str, Any]:
        return {"text": self.query_one("#bulk-text", TextBox).text}

    def request(self, values: dict[str, Any]) -> BulkAction:
        return BulkAction.note(values["text"], internal=not self.PUBLIC)


class BulkNote(BulkText):
    KIND = "note"


class BulkUpdate(BulkText):
    KIND = "update"
    PUBLIC = True


class BulkLink(BulkForm):
    KIND = "link"

    def heading(self) -> str:
        return f"Link {self.these} to a parent"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Parent ticket", classes="field-label")
            yield Input(placeholder="its number, e.g. 4521", id="bulk-parent", compact=True)
            yield FieldError("parent")
        yield Static("The parent lists them as its children; resolving it later offers to "
                     "resolve them with it. A marked ticket that is the parent itself is "
                     "refused.", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#bulk-parent", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"parent": self.query_one("#bulk-parent", Input).value}

    def request(self, values: dict[str, Any]) -> BulkAction:
        parent = values["parent"].strip()
        if not parent:
            raise InvalidInput("type the parent ticket's number, e.g. 4521", field="parent")
        try:
            return BulkAction.link(parent)
        except InvalidInput as error:  # said of "the ticket": here it is the parent field
            raise InvalidInput(error.message, field="parent") from None


class BulkResolve(BulkForm):
    KIND = "resolve"

    def __init__(self, ids: Sequence[str], *, heading: str | None = None,
                 root_cause: str = "", resolution: str = "") -> None:
        super().__init__(ids)
        self._heading = heading
        self._root_cause = root_cause
        self._resolution = resolution

    def heading(self) -> str:
        return self._heading or f"Resolve {self.these}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Root cause", classes="field-label")
            yield Input(self._root_cause, placeholder="what was wrong, for all of them",
                        id="bulk-root-cause", compact=True)
            yield FieldError("root_cause")
        with Vertical(classes="field"):
            yield Label("Resolution (what was done; the callers may see it)",
                        classes="field-label")
            yield TextBox(self._resolution, id="bulk-resolution", soft_wrap=True,
                          tab_behavior="focus", show_line_numbers=False)
            yield FieldError("resolution")
        yield Static("One note for every ticket, so it is checked once: say what was "
                     "changed, where, and how it was confirmed.", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#bulk-root-cause", Input).focus()

    def gather(self) -> dict[str, Any]:
        return {"root_cause": self.query_one("#bulk-root-cause", Input).value,
                "resolution": self.query_one("#bulk-resolution", TextBox).text}

    def request(self, values: dict[str, Any]) -> BulkAction:
        return BulkAction.resolve(root_cause=values["root_cause"],
                                  resolution=values["resolution"])


class BulkClose(BulkForm):
    KIND = "close"

    def heading(self) -> str:
        return f"Close {self.these}"

    def body(self) -> ComposeResult:
        with Vertical(classes="field"):
            yield Label("Category (for the reports)", classes="field-label")
            yield Select([(c.value, c.value) for c in ResolutionCategory],
                         prompt="each ticket's own (its type)", id="bulk-category",
                         compact=True)
            yield FieldError("category")
        yield Static("Only resolved tickets with time logged and their checklist done can "
                     "close; the preview names the others and why.", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#bulk-category", Select).focus()

    @on(Select.Changed, "#bulk-category")
    def _chosen(self) -> None:
        self.query_one("#save").focus()

    def gather(self) -> dict[str, Any]:
        value = self.query_one("#bulk-category", Select).value
        return {"category": None if value is Select.NULL else str(value)}

    def request(self, values: dict[str, Any]) -> BulkAction:
        return BulkAction.close(category=values["category"])


FORMS: dict[str, type[BulkForm]] = {form.KIND: form for form in (
    BulkStatus, BulkPriority, BulkAssignee, BulkQueue, BulkTags, BulkNote, BulkUpdate,
    BulkLink, BulkResolve, BulkClose)}
