"""The checklist engine: where a ticket stands on its checklist, and what may be done next.

``evaluate`` is a pure function of the checklist and the ticket's facts, so the sidebar in
the TUI, ``deskcli show`` and the server all compute the same progress.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from deskcli.domain import validation
from deskcli.domain.checklist import Checklist, Condition, FieldKind, FieldSpec, StepSpec
from deskcli.domain.errors import InvalidInput, NotFound, Refused
from deskcli.domain.facts import TicketFacts
from deskcli.domain.gates import GATES


class StepState(StrEnum):
    DONE = "done"
    CURRENT = "current"
    TODO = "todo"
    SKIPPED = "skipped"
    BLOCKED = "blocked"

    @property
    def marker(self) -> str:
        """A symbol that reads without colour."""
        return {"done": "✓", "current": "▶", "todo": "·", "skipped": "–", "blocked": "✗"}[
            self.value
        ]


class StepProgress(NamedTuple):
    step: StepSpec
    state: StepState
    reason: str = ""
    #: True for a step the technician skipped with a reason (``reason``), as opposed to
    #: one the checklist says does not apply to this ticket.
    by_hand: bool = False
    #: True while a condition the step depends on is undecided (the step may not apply).
    undecided: bool = False


class Progress(NamedTuple):
    checklist: Checklist
    items: tuple[StepProgress, ...]

    @property
    def current(self) -> StepProgress | None:
        return next((i for i in self.items if i.state is StepState.CURRENT), None)

    def of(self, step_key: str) -> StepProgress:
        for item in self.items:
            if item.step.key == step_key:
                return item
        raise NotFound(f"no step {step_key!r} in checklist {self.checklist.key}")

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.state is StepState.DONE)

    @property
    def applicable(self) -> int:
        """Steps that apply to this ticket: a step skipped by hand still applied."""
        return sum(1 for i in self.items if i.state is not StepState.SKIPPED or i.by_hand)

    @property
    def skipped_by_hand(self) -> int:
        return sum(1 for i in self.items if i.by_hand)

    @property
    def complete(self) -> bool:
        return all(
            i.state in (StepState.DONE, StepState.SKIPPED) or not i.step.required
            for i in self.items
        )


def _condition_state(step: StepSpec, facts: TicketFacts,
                     checklist: Checklist) -> tuple[StepState | None, str]:
    """SKIPPED when a condition is known to fail, BLOCKED while one is undecided."""

    def undecided(cond: Condition) -> str:
        ref = checklist.step(cond.step_key or "")
        return f"waits on: {ref.title if ref else cond.attribute}"

    # An ``unless`` known to hold skips the step whatever is still undecided: a ticket
    # raised by monitoring has no caller to test with, escalated or not.
    for cond in step.unless:
        value = facts.attribute(cond.attribute)
        if value is not None and value in cond.values:
            return StepState.SKIPPED, (step.unless_reason or step.skip_reason
                                       or f"not needed: {cond.attribute} is {value}")
    for cond in step.when:
        value = facts.attribute(cond.attribute)
        if value is None:
            return StepState.BLOCKED, undecided(cond)
        if value not in cond.values:
            return StepState.SKIPPED, step.skip_reason or f"not needed: {cond.attribute} is {value}"
    for cond in step.unless:
        value = facts.attribute(cond.attribute)
        if value is None:
            return StepState.BLOCKED, undecided(cond)
        if value in cond.values:
            return StepState.SKIPPED, (step.unless_reason or step.skip_reason
                                       or f"not needed: {cond.attribute} is {value}")
    return None, ""


def _blocker(step: StepSpec, facts: TicketFacts, checklist: Checklist,
             states: Mapping[str, StepState]) -> str:
    for needed in step.requires:
        if states.get(needed) not in (StepState.DONE, StepState.SKIPPED):
            ref = checklist.step(needed)
            return f"needs '{ref.title if ref else needed}' first"
    for gate in step.gates:
        reason = GATES[gate](facts)
        if reason:
            return reason
    return ""


def evaluate(checklist: Checklist, facts: TicketFacts) -> Progress:
    states: dict[str, StepState] = {}
    items: list[StepProgress] = []
    current_taken = False
    for step in checklist.steps:
        by_hand = undecided = False
        if step.key in facts.steps:
            state, reason = StepState.DONE, ""
        elif step.key in facts.skipped:
            state, reason, by_hand = StepState.SKIPPED, facts.skipped[step.key], True
        else:
            cond_state, reason = _condition_state(step, facts, checklist)
            if cond_state is not None:
                state = cond_state
                undecided = state is StepState.BLOCKED
            elif reason := _blocker(step, facts, checklist, states):
                state = StepState.BLOCKED
            elif not current_taken:
                state, current_taken = StepState.CURRENT, True
            else:
                state = StepState.TODO
        states[step.key] = state
        items.append(StepProgress(step, state, reason, by_hand, undecided))
    return Progress(checklist, tuple(items))


def _unknown_step(checklist: Checklist, step_key: str) -> InvalidInput:
    keys = ", ".join(s.key for s in checklist.steps)
    return InvalidInput(f"unknown step {step_key!r} in checklist {checklist.key}; steps "
                        f"are: {keys}", field="step")


def check_can_complete(checklist: Checklist, step_key: str, facts: TicketFacts) -> StepSpec:
    """Refuse a completion the checklist does not allow yet, saying why."""
    step = checklist.step(step_key)
    if step is None:
        raise _unknown_step(checklist, step_key)
    item = evaluate(checklist, facts).of(step_key)
    if item.state is StepState.SKIPPED and not item.by_hand:
        raise Refused(f"step '{step.title}' does not apply to this ticket: {item.reason}",
                      field="step")
    if item.state is StepState.BLOCKED:
        raise Refused(f"step '{step.title}' is blocked: {item.reason}", field="step")
    return step


#: Actions that ARE the ticket's workflow: skipping them would contradict the ticket
#: (a resolve or close step is done by resolving or closing; an escalate step applies only
#: once the technician decided to escalate).
UNSKIPPABLE_ACTIONS = frozenset({"resolve", "close", "escalate"})

#: Longest reason a skip keeps: one line a colleague reads on the timeline.
SKIP_REASON_MAX = 500


def check_can_skip(checklist: Checklist, step_key: str, facts: TicketFacts,
                   reason: str | None) -> tuple[StepSpec, str]:
    """Refuse a skip the rules do not allow; returns the step and the cleaned reason.

    A skip is the honest record of a step that was not done ("caller unreachable after two
    attempts"), so it needs a reason, and only a step that applies and is not done yet can
    be skipped.
    """
    step = checklist.step(step_key)
    if step is None:
        raise _unknown_step(checklist, step_key)
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(f"skipping '{step.title}' needs a reason: say why it was not "
                           "done, e.g. \"caller unreachable after two attempts\"",
                           field="reason")
    if len(text) > SKIP_REASON_MAX:
        raise InvalidInput(f"the skip reason is {len(text)} characters long; at most "
                           f"{SKIP_REASON_MAX} are accepted", field="reason")
    if step.action in UNSKIPPABLE_ACTIONS:
        raise Refused(f"step '{step.title}' cannot be skipped: it is done by the "
                      f"{step.action} itself", field="step")
    deciding = [s.title for s in checklist.steps
                if any(c.step_key == step.key for c in (*s.when, *s.unless))]
    if deciding:
        raise Refused(f"step '{step.title}' cannot be skipped: it decides whether "
                      f"{', '.join(repr(t) for t in deciding)} apply; record the decision",
                      field="step")
    item = evaluate(checklist, facts).of(step_key)
    if item.state is StepState.DONE:
        raise Refused(f"step '{step.title}' is already done; there is nothing to skip",
                      field="step")
    if item.state is StepState.SKIPPED:
        if item.by_hand:
            raise Refused(f"step '{step.title}' is already skipped: {item.reason}",
                          field="step")
        raise Refused(f"step '{step.title}' does not apply to this ticket, so there is "
                      f"nothing to skip: {item.reason}", field="step")
    return step, text


def _after_close(checklist: Checklist) -> frozenset[str]:
    """The close step and every step that (through ``requires``) can only follow it."""
    closing = {s.key for s in checklist.steps if s.action == "close"}
    for step in checklist.steps:
        if any(needed in closing for needed in step.requires):
            closing.add(step.key)
    return frozenset(closing)


def unfinished_before_close(progress: Progress) -> list[StepProgress]:
    """Applicable, required steps that are neither done nor skipped with a reason.

    Steps that come after closing (the close step itself, the survey that requires it)
    are left out: they cannot be done before it. So are steps waiting on an undecided
    condition: the step that decides (which cannot be skipped) is listed instead.
    """
    later = _after_close(progress.checklist)
    return [item for item in progress.items
            if item.step.required and item.step.key not in later and not item.undecided
            and item.state not in (StepState.DONE, StepState.SKIPPED)]


def close_refusal(unfinished: list[StepProgress]) -> str:
    """Why a ticket cannot be closed yet, naming each step left (same words everywhere)."""
    names = ", ".join(f"'{i.step.title}' ({i.step.key})" for i in unfinished)
    count = len(unfinished)
    return (f"{count} step{'s are' if count != 1 else ' is'} neither done nor skipped: "
            f"{names}. Complete each, or skip it with the reason it was not done")


def records_work(step: StepSpec) -> bool:
    """Does completing this step record work done on the ticket (so the identity rule for
    account work applies to what it collects)? The fix, the resolution, the close."""
    return step.action in ("resolve", "close") or bool(
        {"identity_verified", "identity_for_account_work"} & set(step.gates))


def _field_value(spec: FieldSpec, raw: Any) -> Any:
    """Normalise one field's raw input (CLI text, JSON value or form text)."""
    name = spec.label
    if spec.kind is FieldKind.LIST:
        if raw is None:
            items: list[str] = []
        elif isinstance(raw, list | tuple):
            items = [str(x).strip() for x in raw]
        else:
            items = [part.strip() for part in str(raw).replace("\n", ",").split(",")]
        items = [x for x in items if x]
        if spec.required and not items:
            raise InvalidInput(f"{name} needs at least one entry", field=spec.key)
        return items or None
    if isinstance(raw, list | tuple | dict):
        raise InvalidInput(f"{name} takes a single value", field=spec.key)
    text = None if raw is None else str(raw)
    if spec.kind is FieldKind.NUMBER:
        number = validation.count(text, field=spec.key)
        if number is None and spec.required:
            raise InvalidInput(f"{name} is required: enter a whole number", field=spec.key)
        return number
    if spec.kind is FieldKind.EMAIL:
        address = validation.email(text, field=spec.key)
        if address is None and spec.required:
            raise InvalidInput(f"{name} is required: enter an email address", field=spec.key)
        return address
    value = validation.clean_text(text, field=spec.key)
    if value is None:
        if spec.required:
            raise InvalidInput(f"{name} is required and cannot be empty", field=spec.key)
        return None
    if spec.kind is FieldKind.CHOICE:
        lowered = {c.lower(): c for c in spec.choices}
        choice = lowered.get(value.lower())
        if choice is None:
            raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(spec.choices)}",
                               field=spec.key)
        if spec.passes and choice not in spec.passes:
            raise Refused(f"{name} is {choice}: this step is done only when it is "
                          f"{' or '.join(spec.passes)}; keep working and note what failed",
                          field=spec.key)
        return choice
    if spec.kind is FieldKind.TEXT and "\n" in value:
        raise InvalidInput(f"{name} must be a single line", field=spec.key)
    if spec.rule == "specific_resolution":
        validation.check_resolution(value, field=spec.key)
    return value


def validate_values(step: StepSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise what a step collects; unknown keys are refused, not ignored."""
    unknown = sorted(set(raw) - {f.key for f in step.fields})
    if unknown:
        accepted = ", ".join(f.key for f in step.fields) or "nothing"
        raise InvalidInput(f"step {step.key} does not collect {', '.join(unknown)}; it "
                           f"collects: {accepted}", field=unknown[0])
    values: dict[str, Any] = {}
    for spec in step.fields:
        given = raw.get(spec.key)
        if given is None and spec.default is not None:
            given = spec.default
        value = _field_value(spec, given)
        if value is not None:
            values[spec.key] = value
    return values


def field_problem(spec: FieldSpec, raw: Any) -> str | None:
    """The inline message a form shows under a field as the technician types."""
    try:
        _field_value(spec, raw)
    except (InvalidInput, Refused) as error:
        return error.message
    return None


#: Fields an action writes into the ticket's own columns (the root cause and resolution
#: of a resolve, the category of a close): shown with the ticket, not again with the step.
ACTION_WRITES: dict[str, frozenset[str]] = {
    "resolve": frozenset({"root_cause", "resolution"}),
    "close": frozenset({"resolution_category"}),
}


def collected(step: StepSpec, values: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What a completed step collected that the ticket's own fields do not show, as
    ``(label, text)`` pairs: the notes of check_changes and reproduce, the scope
    decision and its reason, the KB query. ``show``, the Details tab and the timeline
    all print these, so nothing typed into a step is kept out of sight."""
    out: list[tuple[str, str]] = []
    written = ACTION_WRITES.get(step.action or "", frozenset())
    for spec in step.fields:
        if spec.maps_to or spec.kind is FieldKind.FILE or spec.key in written:
            continue  # shown as the ticket's own field, or as an attachment
        value = values.get(spec.key)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif spec.kind is FieldKind.CHOICE:
            text = str(value).replace("-", " ")
        else:
            text = str(value)
        out.append((spec.label, text))
    return tuple(out)


def prefilled(step: StepSpec, recorded: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Values for ``step``'s fields that declare a ``prefill`` from an earlier step's
    recorded value (``reproduce.notes`` for the escalation's repro steps)."""
    out: dict[str, Any] = {}
    for spec in step.fields:
        if spec.prefill:
            source_step, source_field = spec.prefill.split(".", 1)
            value = recorded.get(source_step, {}).get(source_field)
            if value not in (None, ""):
                out[spec.key] = value
    return out
