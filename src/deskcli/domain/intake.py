"""What a new ticket must carry, checked the same way for flags, JSON records and forms."""

from collections.abc import Mapping
from typing import Any, NamedTuple

from deskcli.domain import validation
from deskcli.domain.enums import Channel, Priority, TicketType, Verification
from deskcli.domain.errors import InvalidInput

#: Keys a JSON record may carry; the CLI flags use the same names.
NEW_TICKET_KEYS = (
    "summary", "caller", "email", "phone", "verified", "verbatim", "error", "priority",
    "type", "channel", "client", "asset", "category", "assignee", "users_affected", "doing",
    "checklist",
)


class NewTicket(NamedTuple):
    summary: str
    caller: str | None = None
    email: str | None = None
    phone: str | None = None
    verified: Verification | None = None
    verbatim: str | None = None
    error: str | None = None
    priority: Priority | None = None
    type: TicketType = TicketType.INCIDENT
    channel: Channel = Channel.PHONE
    client: str | None = None
    asset: str | None = None
    category: str | None = None
    assignee: str | None = None
    users_affected: int | None = None
    doing: str | None = None
    checklist: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any],
                     memo: dict[tuple[Any, ...], Any] | None = None) -> "NewTicket":
        """Validate one record; the first problem found is raised with its field named.

        ``memo`` (one empty dict per batch, e.g. ``new --from``) remembers each field's
        validated value by its raw value: the records of an import repeat clients,
        callers, channels and priorities, and every check is a pure function of the
        field and its value, so each distinct value is checked once per batch with the
        same result (a refused value is checked again, so its error is raised afresh)."""
        if memo is not None and type(raw) is dict:
            checked = _checked_quickly(raw, memo)
            if checked is not None:
                return cls(**checked)
        if not isinstance(raw, Mapping):
            raise InvalidInput("each ticket must be a JSON object with at least a summary")
        if not _KEY_SET.issuperset(raw):
            unknown = sorted(set(raw) - _KEY_SET)
            raise InvalidInput(
                f"unknown key {unknown[0]!r}; accepted keys: {', '.join(NEW_TICKET_KEYS)}",
                field=unknown[0])
        for key, value in raw.items():
            if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
                raise InvalidInput(f"{key} must be text, got {type(value).__name__}", field=key)
        values: dict[str, Any] = {}
        for key in _CHECK_ORDER:  # the order decides which problem is reported first
            value = raw.get(key)
            if memo is None:
                values[key] = _CHECKS[key](value)
            else:
                # ``type(value)`` too: 1 and "1" are different raw values.
                slot = (key, type(value), value)
                if slot in memo:
                    values[key] = memo[slot]
                else:
                    values[key] = memo[slot] = _CHECKS[key](value)
            if key == "caller":
                verified = values["verified"]
                if verified is not None and verified.verified and not values["caller"]:
                    raise InvalidInput("a verified identity needs the caller's name: say "
                                       "whose identity was verified", field="caller")
        values["type"] = values["type"] or TicketType.INCIDENT
        values["channel"] = values["channel"] or Channel.PHONE
        return cls(**values)


def _text(key: str, *, one_line: bool = True, max_len: int = 500) -> Any:
    def check(value: Any) -> str | None:
        return validation.clean_text(None if value is None else str(value), field=key,
                                     max_len=max_len, one_line=one_line)
    return check


def _parsed(key: str, parser: Any) -> Any:
    def check(value: Any) -> Any:
        if value is None or not str(value).strip():
            return None
        return parser(str(value), what=key)
    return check


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


#: Each key's check, as ``from_mapping`` runs them (a value in, the field's value out).
_CHECKS: dict[str, Any] = {
    "verified": _parsed("verified", Verification.parse),
    "caller": _text("caller", max_len=200),
    "summary": lambda value: validation.summary(_as_text(value)),
    "email": lambda value: validation.email(_as_text(value)),
    "phone": lambda value: validation.phone(_as_text(value)),
    "verbatim": _text("verbatim", one_line=False, max_len=validation.TEXT_MAX),
    "error": _text("error", one_line=False, max_len=validation.TEXT_MAX),
    "priority": _parsed("priority", Priority.parse),
    "type": _parsed("type", TicketType.parse),
    "channel": _parsed("channel", Channel.parse),
    "client": _text("client", max_len=200),
    "asset": _text("asset", max_len=200),
    "category": _text("category", max_len=100),
    "assignee": _text("assignee", max_len=100),
    "users_affected": lambda value: validation.count(value, field="users_affected"),
    "doing": _text("doing", max_len=1000),
    "checklist": _text("checklist", max_len=100),
}
_CHECK_ORDER = tuple(_CHECKS)
_KEY_SET = frozenset(NEW_TICKET_KEYS)
#: The memo's entry for what each key's check gives when the key is absent.
_ABSENT = ("absent",)
_MISSING = object()


def _checked_quickly(raw: dict[str, Any],
                     memo: dict[tuple[Any, ...], Any]) -> dict[str, Any] | None:
    """``from_mapping``'s values for a record that passes every check, or None for any
    other (which ``from_mapping`` then checks in order, to report the first problem).

    The same memoised checks, but only of the keys the record has: every absent key
    takes its check's value for "absent", worked out once per batch (a record of an
    import names eight of the seventeen keys)."""
    absent = memo.get(_ABSENT)
    if absent is None:
        absent = {}
        for key in _CHECK_ORDER:
            try:
                absent[key] = _CHECKS[key](None)
            except Exception:  # a required key (the summary): a record must name it
                continue
        memo[_ABSENT] = absent
    values = dict(absent)
    for key, value in raw.items():
        if key not in _KEY_SET or (value is not None and not isinstance(value, str | int)
                                   or isinstance(value, bool)):
            return None
        slot = (key, type(value), value)
        found = memo.get(slot, _MISSING)
        if found is _MISSING:
            try:
                found = memo[slot] = _CHECKS[key](value)
            except Exception:
                return None
        values[key] = found
    if len(values) != len(_CHECKS):  # a required key is absent
        return None
    verified = values["verified"]
    if verified is not None and verified.verified and not values["caller"]:
        return None
    values["type"] = values["type"] or TicketType.INCIDENT
    values["channel"] = values["channel"] or Channel.PHONE
    return values
