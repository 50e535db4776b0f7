"""Checklists as data: phases of steps, each step saying what it collects and when it applies.

A checklist is parsed from TOML (see docs/checklists.md for the format). Parsing is pure:
the caller hands in the already-decoded document plus its text, and every problem is
reported with the file, the line and what is wrong, because teams write these files by
hand.
"""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from deskcli.domain.errors import ChecklistFileError
from deskcli.domain.patterns import lazy


class FieldKind(StrEnum):
    TEXT = "text"
    PARAGRAPH = "paragraph"
    EMAIL = "email"
    CHOICE = "choice"
    LIST = "list"
    FILE = "file"
    NUMBER = "number"


#: Ticket columns a step's field may write into (``maps_to``).
MAPPABLE = frozenset({
    "verbatim", "error_text", "event_ids", "doing", "reproducible", "users_affected",
    "asset", "category", "channel", "caller_email", "priority", "impact", "urgency",
    "client", "type",
})

#: Verbs a completed step asks the ticket service to perform (``action``).
ACTIONS = frozenset({"verify_identity", "set_priority", "open", "escalate", "resolve",
                     "close", "send_survey", "page"})

#: Named preconditions a step may require (``gates``); see ``gates.py``.
GATES = frozenset({"identity_verified", "identity_for_account_work", "time_logged",
                   "resolved"})

#: Field rules a step may apply to a field's value (``rule``).
RULES = frozenset({"specific_resolution"})

#: Ticket attributes a ``when``/``unless`` condition may test besides step fields.
ATTRIBUTES = frozenset({"priority", "type", "channel", "status"})


class FieldSpec(NamedTuple):
    key: str
    label: str
    kind: FieldKind
    required: bool = True
    choices: tuple[str, ...] = ()
    help: str = ""
    maps_to: str | None = None
    rule: str | None = None
    default: str | None = None
    #: For a choice: the answers that complete the step (others are refused, with why).
    passes: tuple[str, ...] = ()
    #: ``step_key.field_key`` of an earlier step whose recorded value fills this field
    #: while it is empty (the reproduce step's notes become the escalation's repro steps).
    prefill: str | None = None


class Condition(NamedTuple):
    """``attribute`` is a ticket attribute or ``step_key.field_key``."""

    attribute: str
    values: frozenset[str]

    @property
    def step_key(self) -> str | None:
        return self.attribute.split(".", 1)[0] if "." in self.attribute else None


class StepSpec(NamedTuple):
    key: str
    title: str
    guidance: str
    phase: str
    fields: tuple[FieldSpec, ...] = ()
    required: bool = True
    when: tuple[Condition, ...] = ()
    unless: tuple[Condition, ...] = ()
    skip_reason: str = ""
    #: The words shown when an ``unless`` condition skips the step, where they differ
    #: from a ``when`` skip (a survey skipped for a monitoring ticket: no caller).
    unless_reason: str = ""
    requires: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    action: str | None = None
    warning: str = ""

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)


class Phase(NamedTuple):
    key: str
    title: str
    steps: tuple[StepSpec, ...]


class Checklist(NamedTuple):
    key: str
    title: str
    description: str
    version: int
    phases: tuple[Phase, ...]
    source: str = "<built-in>"

    @property
    def steps(self) -> tuple[StepSpec, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    def step(self, key: str) -> StepSpec | None:
        return next((s for s in self.steps if s.key == key), None)

    def step_with_action(self, action: str) -> StepSpec | None:
        return next((s for s in self.steps if s.action == action), None)

    def phase_of(self, step_key: str) -> Phase | None:
        return next((p for p in self.phases if any(s.key == step_key for s in p.steps)), None)


# --- parsing --------------------------------------------------------------------------

_KEY = lazy(r"[a-z][a-z0-9_]*")
_KEY_LINE = lazy(r"\s*key\s*=\s*[\"']([^\"']*)[\"']")


class _Locator:
    """Finds the line a problem belongs to, since tomllib gives no positions for values."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        # Every ``key = "..."`` line, found once: looking keys up here instead of compiling
        # a regex per key keeps loading a checklist cheap (it happens on every CLI start).
        self._keys: list[tuple[int, str]] = [
            (number, match.group(1)) for number, line in enumerate(self.lines, start=1)
            if (match := _KEY_LINE.match(line))]
        self._matches: dict[str, list[int]] = {}

    def line_of_key(self, key: str, after: int = 0) -> int | None:
        """The first ``key = "<key>"`` line after line ``after``."""
        return next((number for number, found in self._keys
                     if number > after and found == key), None)

    def line_of(self, pattern: str, occurrence: int = 0, after: int = 0) -> int | None:
        """The line of the ``occurrence``-th match of ``pattern`` after line ``after``.

        The lines matching each pattern are found once per file: the parser asks for
        every phase's and step's header line, and scanning the file from the top for
        each cost a checklist of 30 steps about 5,000 regex searches (issue 20)."""
        found = self._matches.get(pattern)
        if found is None:
            regex = re.compile(pattern)
            found = self._matches[pattern] = [
                number for number, line in enumerate(self.lines, start=1)
                if regex.search(line)]
        later = [number for number in found if number > after]
        return later[occurrence] if occurrence < len(later) else None

    def fail(self, problem: str, line: int | None) -> ChecklistFileError:
        where = f"{self.source}, line {line}" if line else self.source
        return ChecklistFileError(f"{where}: {problem}")


def _str(table: Mapping[str, Any], key: str, loc: _Locator, line: int | None, *,
         required: bool = True, default: str = "") -> str:
    value = table.get(key, None)
    if value is None:
        if required:
            raise loc.fail(f"missing required key '{key}'", line)
        return default
    if not isinstance(value, str):
        raise loc.fail(f"'{key}' must be a string, got {type(value).__name__}", line)
    return value.strip()


def _strings(value: Any, key: str, loc: _Locator, line: int | None) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise loc.fail(f"'{key}' must be a list of strings", line)
    return tuple(value)


def _conditions(raw: Any, key: str, loc: _Locator, line: int | None,
                step_keys: set[str]) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise loc.fail(f"'{key}' must be a table such as {{ priority = [\"P1\"] }}", line)
    out = []
    for attribute, values in raw.items():
        cond = Condition(str(attribute), frozenset(_strings(values, key, loc, line)))
        step_ref = cond.step_key
        if step_ref is None and attribute not in ATTRIBUTES:
            raise loc.fail(
                f"'{key}' tests unknown attribute '{attribute}'; use one of "
                f"{', '.join(sorted(ATTRIBUTES))} or an earlier step's 'step.field'", line)
        if step_ref is not None and step_ref not in step_keys:
            raise loc.fail(f"'{key}' refers to step '{step_ref}', which does not come earlier "
                           "in this checklist", line)
        out.append(cond)
    return tuple(out)


def _field(raw: Any, loc: _Locator, line: int | None, where: str) -> FieldSpec:
    if not isinstance(raw, Mapping):
        raise loc.fail(f"{where}: each field must be a table", line)
    key = _str(raw, "key", loc, line)
    line = loc.line_of_key(key, after=line or 0) or line
    if not _KEY.fullmatch(key):
        raise loc.fail(f"{where}: field key '{key}' must be lowercase letters, digits and _",
                       line)
    kind_text = _str(raw, "kind", loc, line)
    try:
        kind = FieldKind(kind_text)
    except ValueError:
        raise loc.fail(f"{where}: field '{key}' has unknown kind '{kind_text}'; use one of "
                       f"{', '.join(k.value for k in FieldKind)}", line) from None
    choices = _strings(raw.get("choices", []), "choices", loc, line)
    if kind is FieldKind.CHOICE and not choices:
        raise loc.fail(f"{where}: choice field '{key}' needs a non-empty 'choices' list", line)
    maps_to = raw.get("maps_to")
    if maps_to is not None and maps_to not in MAPPABLE:
        raise loc.fail(f"{where}: field '{key}' maps to unknown ticket field '{maps_to}'; "
                       f"use one of {', '.join(sorted(MAPPABLE))}", line)
    rule = raw.get("rule")
    if rule is not None and rule not in RULES:
        raise loc.fail(f"{where}: field '{key}' has unknown rule '{rule}'; use one of "
                       f"{', '.join(sorted(RULES))}", line)
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise loc.fail(f"{where}: 'required' must be true or false", line)
    default = raw.get("default")
    prefill = raw.get("prefill")
    if prefill is not None and (not isinstance(prefill, str) or prefill.count(".") != 1):
        raise loc.fail(f"{where}: 'prefill' of field '{key}' must be written as "
                       "\"step_key.field_key\"", line)
    passes = _strings(raw.get("passes", []), "passes", loc, line)
    if passes and (kind is not FieldKind.CHOICE or not set(passes) <= set(choices)):
        raise loc.fail(f"{where}: 'passes' of field '{key}' must list some of its choices",
                       line)
    return FieldSpec(
        key=key, label=_str(raw, "label", loc, line, required=False, default=key),
        kind=kind, required=required, choices=choices,
        help=_str(raw, "help", loc, line, required=False), maps_to=maps_to, rule=rule,
        default=None if default is None else str(default), passes=passes,
        prefill=prefill,
    )


def parse_checklist(document: Mapping[str, Any], *, source: str, text: str) -> Checklist:
    """Turn a decoded TOML document into a ``Checklist`` or explain what is wrong with it."""
    loc = _Locator(source, text)
    head = document.get("checklist")
    if not isinstance(head, Mapping):
        raise loc.fail("missing the [checklist] table (key, title, description)", 1)
    head_line = loc.line_of(r"^\s*\[checklist\]")
    key = _str(head, "key", loc, head_line)
    if not _KEY.fullmatch(key):
        raise loc.fail(f"checklist key '{key}' must be lowercase letters, digits and _",
                       head_line)
    version = head.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise loc.fail("'version' must be a whole number from 1 up", head_line)
    phases_raw = document.get("phase")
    if not isinstance(phases_raw, list) or not phases_raw:
        raise loc.fail("a checklist needs at least one [[phase]]", None)

    seen_steps: set[str] = set()
    phases: list[Phase] = []
    step_index = 0
    for p_index, p_raw in enumerate(phases_raw):
        p_line = loc.line_of(r"^\s*\[\[phase\]\]", p_index)
        if not isinstance(p_raw, Mapping):
            raise loc.fail("each [[phase]] must be a table", p_line)
        p_key = _str(p_raw, "key", loc, p_line)
        steps_raw = p_raw.get("step")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise loc.fail(f"phase '{p_key}' has no [[phase.step]] entries", p_line)
        steps: list[StepSpec] = []
        for s_raw in steps_raw:
            s_line = loc.line_of(r"^\s*\[\[phase\.step\]\]", step_index)
            step_index += 1
            if not isinstance(s_raw, Mapping):
                raise loc.fail("each [[phase.step]] must be a table", s_line)
            s_key = _str(s_raw, "key", loc, s_line)
            s_line = loc.line_of_key(s_key, after=s_line or 0) or s_line
            where = f"step '{s_key}'"
            if not _KEY.fullmatch(s_key):
                raise loc.fail(f"{where}: key must be lowercase letters, digits and _", s_line)
            if s_key in seen_steps:
                raise loc.fail(f"{where}: the key is used twice", s_line)
            fields_raw = s_raw.get("field", [])
            if not isinstance(fields_raw, list):
                raise loc.fail(f"{where}: 'field' must be written as [[phase.step.field]]",
                               s_line)
            fields = tuple(_field(f, loc, s_line, where) for f in fields_raw)
            if len({f.key for f in fields}) != len(fields):
                raise loc.fail(f"{where}: two fields share a key", s_line)
            for f in fields:
                if f.prefill is None:
                    continue
                source_key, source_field = f.prefill.split(".")
                origin = next((s for p in phases for s in p.steps if s.key == source_key),
                              None) or next((s for s in steps if s.key == source_key), None)
                if origin is None or origin.field(source_field) is None:
                    raise loc.fail(f"{where}: field '{f.key}' is prefilled from "
                                   f"'{f.prefill}', which is not a field of an earlier step",
                                   s_line)
            requires = _strings(s_raw.get("requires", []), "requires", loc, s_line)
            for needed in requires:
                if needed not in seen_steps:
                    raise loc.fail(f"{where}: requires '{needed}', which is not an earlier "
                                   "step", s_line)
            gates = _strings(s_raw.get("gates", []), "gates", loc, s_line)
            for gate in gates:
                if gate not in GATES:
                    raise loc.fail(f"{where}: unknown gate '{gate}'; use one of "
                                   f"{', '.join(sorted(GATES))}", s_line)
            action = s_raw.get("action")
            if action is not None and action not in ACTIONS:
                raise loc.fail(f"{where}: unknown action '{action}'; use one of "
                               f"{', '.join(sorted(ACTIONS))}", s_line)
            required = s_raw.get("required", True)
            if not isinstance(required, bool):
                raise loc.fail(f"{where}: 'required' must be true or false", s_line)
            known = set(seen_steps)
            steps.append(StepSpec(
                key=s_key,
                title=_str(s_raw, "title", loc, s_line),
                guidance=_str(s_raw, "guidance", loc, s_line),
                phase=p_key,
                fields=fields,
                required=required,
                when=_conditions(s_raw.get("when"), "when", loc, s_line, known),
                unless=_conditions(s_raw.get("unless"), "unless", loc, s_line, known),
                skip_reason=_str(s_raw, "skip_reason", loc, s_line, required=False),
                unless_reason=_str(s_raw, "unless_reason", loc, s_line, required=False),
                requires=requires,
                gates=gates,
                action=action,
                warning=_str(s_raw, "warning", loc, s_line, required=False),
            ))
            seen_steps.add(s_key)
        phases.append(Phase(p_key, _str(p_raw, "title", loc, p_line), tuple(steps)))
    return Checklist(
        key=key, title=_str(head, "title", loc, head_line),
        description=_str(head, "description", loc, head_line, required=False),
        version=version, phases=tuple(phases), source=source,
    )
