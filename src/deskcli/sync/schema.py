"""What every sync op must be: one declaration per entity and field, for both ends.

The server checks each pushed op against it and refuses a bad one (422, naming the op and
the field) before anything is applied; a client checks each pulled row against it and
sets a row that fails aside in its quarantine instead of writing it. Because both ends
read the same table, a value one end accepts is a value the other can store: one
malformed op can no longer wedge every store of a client.

The rules are the domain's (enums from ``domain.enums``, lengths from ``domain.validation``
and ``domain.kb``) plus what any replica's database needs: no NUL characters and no lone
surrogates in text (PostgreSQL and UTF-8 cannot hold them), whole numbers within 64 bits,
no floats (no column holds one, and NaN compares unequal to itself), and no value larger
than ``MAX_VALUE_BYTES`` once encoded.

Plain data and functions only: the CLI imports this on the sync path, never pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from deskcli.domain import enums, validation
from deskcli.domain.errors import InvalidInput
from deskcli.domain.kb import BODY_MAX, TITLE_MAX
from deskcli.domain.tags import ACCEPTED as TAG_ACCEPTED
from deskcli.domain.tags import ACTIONS as TAG_ACTIONS
from deskcli.domain.tags import TAG_MAX, TAG_PATTERN
from deskcli.domain.validation import SUMMARY_MAX, TEXT_MAX
from deskcli.sync.protocol import (
    APPEND_ONLY,
    DERIVED_FIELDS,
    IMMUTABLE_FIELDS,
    MAX_VALUE_BYTES,
    MUTABLE,
)

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: Ids are made by clients (random hex) or derived from names (``stable_id``).
ID_MAX = 64
#: Names and free labels: the domain takes up to 200 characters for any short ticket
#: field changed with ``deskcli set``; handles, kinds and step names are shorter.
NAME_MAX = 200
LABEL_MAX = 100
#: Extra text a client may attach to an append (a conflict record's detail, a step's
#: answers as JSON): bounded only by the value limit.
UNBOUNDED = MAX_VALUE_BYTES

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True)
class Spec:
    """One field: its kind, whether a new row must carry it, and its bounds.

    ``kind`` is ``id`` (1-64 printable characters), ``text``, ``int``, ``flag`` (0 or 1),
    ``time`` (``YYYY-MM-DDTHH:MM:SSZ``), ``choice`` (one of ``choices``), ``hex64`` (a
    SHA-256), ``base64`` or ``tag`` (``domain.tags``: one lower-case word).
    """

    kind: str
    required: bool = False
    nullable: bool = True
    max_len: int = TEXT_MAX
    choices: tuple[str, ...] = ()
    low: int = INT64_MIN
    high: int = INT64_MAX
    one_line: bool = False


def _id(required: bool = False) -> Spec:
    return Spec("id", required=required, nullable=not required, max_len=ID_MAX)


def _text(max_len: int = TEXT_MAX, *, required: bool = False, one_line: bool = False) -> Spec:
    return Spec("text", required=required, nullable=not required, max_len=max_len,
                one_line=one_line)


def _time(required: bool = False) -> Spec:
    return Spec("time", required=required, nullable=not required, max_len=20)


def _choice(vocabulary: type[enums.StrEnum], required: bool = False) -> Spec:
    return Spec("choice", required=required, nullable=not required,
                choices=tuple(m.value for m in vocabulary))


def _int(low: int = INT64_MIN, high: int = INT64_MAX, *, required: bool = False,
         nullable: bool = True) -> Spec:
    return Spec("int", required=required, nullable=nullable and not required, low=low,
                high=high)


FLAG = Spec("flag", nullable=False)

#: entity -> field -> rule. Every column a replica stores is here; nothing else may travel.
ENTITIES: dict[str, dict[str, Spec]] = {
    "client": {
        "id": _id(True), "name": _text(NAME_MAX, required=True, one_line=True),
        "contract_tier": Spec("text", nullable=False, max_len=LABEL_MAX),
        "created_at": _time(True),
    },
    "caller": {
        "id": _id(True), "name": _text(NAME_MAX, required=True, one_line=True),
        "email": _text(254), "phone": _text(40),
        "client_id": _id(), "vip": FLAG, "created_at": _time(True),
    },
    "ticket": {
        "id": _id(True), "number": _int(1), "provisional": _text(ID_MAX),
        "checklist": _text(NAME_MAX, required=True),
        "type": _choice(enums.TicketType, True), "status": _choice(enums.Status, True),
        "priority": _choice(enums.Priority, True), "impact": _choice(enums.Impact),
        "urgency": _choice(enums.Urgency),
        "summary": _text(SUMMARY_MAX, required=True, one_line=True),
        "caller_id": _id(), "verification": _choice(enums.Verification),
        "verification_detail": _text(), "verified_at": _time(),
        "verified_by": _text(NAME_MAX), "verbatim": _text(),
        "error_text": _text(), "event_ids": _text(), "doing": _text(),
        "reproducible": _text(), "users_affected": _int(0), "client_id": _id(),
        "asset": _text(NAME_MAX, one_line=True), "category": _text(NAME_MAX, one_line=True),
        "channel": _choice(enums.Channel, True), "assignee": _text(NAME_MAX, one_line=True),
        "queue": _text(NAME_MAX, one_line=True), "root_cause": _text(),
        "resolution": _text(), "resolution_category": _choice(enums.ResolutionCategory),
        "created_at": _time(True), "created_by": _text(LABEL_MAX, required=True),
        "updated_at": _time(), "first_response_at": _time(), "last_contact_at": _time(),
        "resolved_at": _time(), "closed_at": _time(), "response_due": _time(),
        "response_risk_at": _time(), "resolve_due": _time(), "resolve_risk_at": _time(),
        "sla_paused_since": _time(), "sla_paused_seconds": _int(0, nullable=False),
        "urgency_due": _time(), "flagged": _text(), "parent_id": _id(),
        "merged_into": _id(),
    },
    "event": {
        "id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "actor": _text(LABEL_MAX, required=True), "kind": _text(LABEL_MAX, required=True),
        "summary": _text(required=True), "detail": _text(UNBOUNDED),
    },
    "note": {
        "id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True), "body": _text(required=True),
        "internal": Spec("flag", required=True, nullable=False),
    },
    "time_entry": {
        "id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True), "minutes": _int(1, 24 * 60, required=True),
        "note": _text(1000),
    },
    "step_record": {
        "id": _id(True), "ticket_id": _id(True), "checklist": _text(NAME_MAX, required=True),
        "step": _text(LABEL_MAX, required=True), "at": _time(True),
        "actor": _text(LABEL_MAX, required=True), "data": _text(UNBOUNDED, required=True),
    },
    "attachment": {
        "id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True), "filename": _text(255, required=True),
        "sha256": Spec("hex64", required=True, nullable=False, max_len=64),
        "size": _int(0, required=True),
        "content_b64": Spec("base64", max_len=UNBOUNDED),
    },
    "csat_response": {
        "id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True), "score": _int(1, 5, required=True),
        "comment": _text(2000),
    },
    "kb_article": {
        "id": _id(True), "title": _text(TITLE_MAX, required=True, one_line=True),
        "body": Spec("text", nullable=False, max_len=BODY_MAX),
        "tags": Spec("text", nullable=False), "error_codes": Spec("text", nullable=False),
        "products": Spec("text", nullable=False), "client_id": _id(),
        "created_at": _time(True), "created_by": _text(LABEL_MAX, required=True),
        "revised_at": _time(True), "revised_by": _text(LABEL_MAX, required=True),
    },
    "kb_version": {
        "id": _id(True), "article_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True), "changed": _text(required=True),
        "title": _text(TITLE_MAX, required=True, one_line=True), "body": Spec(
            "text", required=True, nullable=False, max_len=BODY_MAX),
        "tags": Spec("text", required=True, nullable=False),
        "error_codes": Spec("text", required=True, nullable=False),
        "products": Spec("text", required=True, nullable=False), "client_id": _id(),
    },
    "kb_link": {
        "id": _id(True), "article_id": _id(True), "ticket_id": _id(True), "at": _time(True),
        "author": _text(LABEL_MAX, required=True),
    },
    "tag_change": {
        "id": _id(True), "ticket_id": _id(True),
        "tag": Spec("tag", required=True, nullable=False, max_len=TAG_MAX),
        "action": Spec("choice", required=True, nullable=False, choices=TAG_ACTIONS),
        "removes": _id(), "at": _time(True), "author": _text(LABEL_MAX, required=True),
    },
}


class OpInvalid(ValueError):
    """One op breaks the schema; ``field`` names the part that does (None: the op itself)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored by every replica, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def check_id(value: Any, what: str = "id") -> str:
    """An id as every replica can store and compare it: 1-64 printable characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX:
        raise OpInvalid(f"{what} must be a string of 1-{ID_MAX} characters", what)
    # Not printable covers NUL, control characters and lone surrogates alike.
    if not value.isprintable():
        raise OpInvalid(f"{what} must hold printable characters only", what)
    return value


def check_value(spec: Spec, value: Any, name: str) -> None:
    """Raise OpInvalid naming ``name`` if ``value`` breaks ``spec``."""
    if value is None:
        if not spec.nullable:
            raise OpInvalid(f"{name} cannot be empty (null)", name)
        return
    kind = spec.kind
    if kind in ("int", "flag"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise OpInvalid(f"{name} must be a whole number, not {_type_name(value)}", name)
        low, high = (0, 1) if kind == "flag" else (spec.low, spec.high)
        if not low <= value <= high:
            raise OpInvalid(f"{name} must be between {low} and {high}, not {value}", name)
        return
    if not isinstance(value, str):
        raise OpInvalid(f"{name} must be text, not {_type_name(value)}", name)
    if kind == "id":
        check_id(value, name)
        return
    problem = text_problem(value)
    if problem:
        raise OpInvalid(f"{name} {problem}", name)
    if len(value) > spec.max_len:
        raise OpInvalid(f"{name} is {len(value)} characters; at most {spec.max_len} are "
                        "accepted", name)
    if kind == "choice" and value not in spec.choices:
        raise OpInvalid(f"{name} {value[:40]!r} is not one of {', '.join(spec.choices)}", name)
    if kind == "time" and not _TIME.fullmatch(value):
        raise OpInvalid(f"{name} must be a UTC time as YYYY-MM-DDTHH:MM:SSZ", name)
    if kind == "hex64" and not _HEX64.fullmatch(value):
        raise OpInvalid(f"{name} must be 64 lowercase hex digits (a SHA-256)", name)
    if kind == "base64" and (len(value) % 4 or not _BASE64.fullmatch(value)):
        raise OpInvalid(f"{name} must be base64 text", name)
    if kind == "tag" and not TAG_PATTERN.fullmatch(value):
        raise OpInvalid(f"{name} {value[:40]!r} is not a tag: {TAG_ACCEPTED}", name)
    if spec.one_line:
        try:
            validation.check_one_line(name, value)
        except InvalidInput as error:
            raise OpInvalid(str(error), name) from None


def _type_name(value: Any) -> str:
    if isinstance(value, float):
        return "a decimal number" if value == value else "NaN"
    return {bool: "true/false", dict: "an object", list: "a list", str: "text",
            int: "a number"}.get(type(value), type(value).__name__)


def _quick(spec: Spec) -> Callable[[Any], bool]:
    """A fast yes for a value that plainly meets ``spec``, for the common case of a pull
    page of thousands of ordinary rows. False means only "look closer": ``check_value``
    then decides and words the problem. It never says yes to a value ``check_value``
    refuses (``tests/sync/test_schema.py`` checks this on generated values)."""
    nullable, kind, max_len = spec.nullable, spec.kind, spec.max_len
    if kind in ("int", "flag"):
        low, high = (0, 1) if kind == "flag" else (spec.low, spec.high)
        return lambda v: (v is None and nullable) or (type(v) is int and low <= v <= high)
    if kind == "id":
        return lambda v: (v is None and nullable) or (
            type(v) is str and 0 < len(v) <= ID_MAX and v.isprintable())
    if kind == "choice":
        # Every choice is short, plain text; anything else goes to check_value.
        choices = frozenset(c for c in spec.choices
                            if c.isascii() and c.isprintable() and len(c) <= max_len)
        return lambda v: (v is None and nullable) or (type(v) is str and v in choices)
    if kind in ("time", "hex64"):
        pattern = _TIME if kind == "time" else _HEX64
        return lambda v: (v is None and nullable) or (
            type(v) is str and len(v) <= max_len and pattern.fullmatch(v) is not None)
    if kind != "text":
        return lambda v: False  # base64 and tags: rare, checked in full
    if spec.one_line:
        # A printable string holds no NUL, lone surrogate, line break or control.
        return lambda v: (v is None and nullable) or (
            type(v) is str and len(v) <= max_len and v.isprintable())
    return lambda v: (v is None and nullable) or (
        type(v) is str and len(v) <= max_len
        and ((v.isascii() and "\x00" not in v) or v.isprintable()))


_QUICK: dict[str, dict[str, Callable[[Any], bool]]] = {
    entity: {name: _quick(spec) for name, spec in fields.items()}
    for entity, fields in ENTITIES.items()}
_REQUIRED: dict[str, frozenset[str]] = {
    entity: frozenset(name for name, spec in fields.items() if spec.required)
    for entity, fields in ENTITIES.items()}


def _quick_row(entity: str, value: Any, entity_id: str) -> int | None:
    """For a row that plainly meets the schema, ``_size_bound`` of it (worked out on the
    way); None if ``_row`` must look closer."""
    if type(value) is not dict or value.get("id") != entity_id \
            or not value.keys() >= _REQUIRED[entity]:
        return None
    checks = _QUICK[entity]
    bound = 72 * len(value) + 2
    for name, item in value.items():
        check = checks.get(name)
        if check is None or not check(item):
            return None
        bound += 6 * len(item) if type(item) is str else 24
    return bound


def _row(entity: str, value: Any, entity_id: str, *, kind: str) -> None:
    fields = ENTITIES[entity]
    if not isinstance(value, Mapping):
        raise OpInvalid(f"a {kind} op's value must be the whole row (an object), not "
                        f"{_type_name(value)}", "value")
    if value.get("id") != entity_id:
        raise OpInvalid(f"a {kind} op's value must be the row, with the same id", "id")
    for name in value:
        if name not in fields:
            raise OpInvalid(f"unknown {entity} field {str(name)[:64]!r}", str(name)[:64])
    for name, spec in fields.items():
        if name in value:
            check_value(spec, value[name], name)
        elif spec.required:
            raise OpInvalid(f"a new {entity} needs {name}", name)


def check_op(op: Mapping[str, Any], *, from_server: bool = False) -> None:
    """Raise OpInvalid if ``op`` (an op as pushed, or a feed row as pulled) breaks the
    schema; the error's ``field`` names where.

    ``from_server`` is for pulled rows the server wrote itself: only it may correct an
    immutable field (a duplicate create answered with the record it holds) or remove a
    record (it moved to a client the technician does not work for). Pushed ops never are.
    """
    entity, kind = op.get("entity"), op.get("kind")
    if entity not in ENTITIES:
        raise OpInvalid(f"unknown entity {str(entity)[:64]!r}", "entity")
    entity_id = check_id(op.get("entity_id"), "entity_id")
    value = op.get("value")
    bound: int | None = None
    if kind == "create" and entity in MUTABLE:
        if (bound := _quick_row(entity, value, entity_id)) is None:
            _row(entity, value, entity_id, kind="create")
    elif kind == "append" and entity in APPEND_ONLY:
        if (bound := _quick_row(entity, value, entity_id)) is None:
            _row(entity, value, entity_id, kind="append")
    elif kind == "set" and entity in MUTABLE:
        name = op.get("field")
        if not isinstance(name, str) or (spec := ENTITIES[entity].get(name)) is None:
            raise OpInvalid(f"unknown {entity} field {str(name)[:64]!r}", "field")
        if name == "id" or name in DERIVED_FIELDS or (
                name in IMMUTABLE_FIELDS and not from_server):
            raise OpInvalid(f"{entity} field {name!r} cannot be changed", name)
        if not _QUICK[entity][name](value):
            check_value(spec, value, name)
    elif kind == "remove" and from_server and entity in MUTABLE:
        if not isinstance(value, Mapping):
            raise OpInvalid(f"a remove op's value must be an object, not {_type_name(value)}",
                            "value")
    else:
        raise OpInvalid(f"op kind {str(kind)[:16]!r} does not apply to {entity}", "kind")
    if (kind != "set" or isinstance(value, str)) and (
            _size_bound(value) if bound is None else bound) > MAX_VALUE_BYTES:
        size = value_bytes(value)
        if size > MAX_VALUE_BYTES:
            raise OpInvalid(f"the value is {size} bytes; at most {MAX_VALUE_BYTES} are "
                            "accepted", "value")


def _size_bound(value: Any) -> int:
    """More than the encoded size can be (a character is at most 6 bytes escaped), cheaply:
    the exact size is only worked out for a value that might be over the limit. By now a
    value is a string, a scalar, or a row of declared (short) names and scalars."""
    if isinstance(value, str):
        return 6 * len(value) + 2
    if isinstance(value, Mapping):
        return sum(6 * len(v) if isinstance(v, str) else 24
                   for v in value.values()) + 72 * len(value) + 2
    return 32


def value_bytes(value: Any) -> int:
    """The size of a value as it travels and is stored (compact JSON, UTF-8)."""
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 2
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
