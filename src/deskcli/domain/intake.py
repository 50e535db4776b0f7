"""What a new ticket must carry, checked the same way for flags, JSON records and forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deskcli.domain import validation
from deskcli.domain.enums import Channel, Priority, TicketType, Verification
from deskcli.domain.errors import InvalidInput

#: Keys a JSON record may carry; the CLI flags use the same names.
NEW_TICKET_KEYS = (
    "summary", "caller", "email", "phone", "verified", "verbatim", "error", "priority",
    "type", "channel", "client", "asset", "category", "assignee", "users_affected", "doing",
    "checklist",
)


@dataclass(frozen=True)
class NewTicket:
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
    def from_mapping(cls, raw: Mapping[str, Any]) -> NewTicket:
        """Validate one record; the first problem found is raised with its field named."""
        if not isinstance(raw, Mapping):
            raise InvalidInput("each ticket must be a JSON object with at least a summary")
        unknown = sorted(set(raw) - set(NEW_TICKET_KEYS))
        if unknown:
            raise InvalidInput(
                f"unknown key {unknown[0]!r}; accepted keys: {', '.join(NEW_TICKET_KEYS)}",
                field=unknown[0])
        for key, value in raw.items():
            if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
                raise InvalidInput(f"{key} must be text, got {type(value).__name__}", field=key)

        def text(key: str, *, one_line: bool = True, max_len: int = 500) -> str | None:
            value = raw.get(key)
            return validation.clean_text(None if value is None else str(value), field=key,
                                         max_len=max_len, one_line=one_line)

        def parsed(key: str, parser: Any) -> Any:
            value = raw.get(key)
            if value is None or not str(value).strip():
                return None
            return parser(str(value), what=key)

        verified = parsed("verified", Verification.parse)
        caller = text("caller", max_len=200)
        if verified is not None and verified.verified and not caller:
            raise InvalidInput("a verified identity needs the caller's name: say whose "
                               "identity was verified", field="caller")
        return cls(
            summary=validation.summary(None if raw.get("summary") is None
                                       else str(raw["summary"])),
            caller=caller,
            email=validation.email(None if raw.get("email") is None else str(raw["email"])),
            phone=validation.phone(None if raw.get("phone") is None else str(raw["phone"])),
            verified=verified,
            verbatim=text("verbatim", one_line=False, max_len=validation.TEXT_MAX),
            error=text("error", one_line=False, max_len=validation.TEXT_MAX),
            priority=parsed("priority", Priority.parse),
            type=parsed("type", TicketType.parse) or TicketType.INCIDENT,
            channel=parsed("channel", Channel.parse) or Channel.PHONE,
            client=text("client", max_len=200),
            asset=text("asset", max_len=200),
            category=text("category", max_len=100),
            assignee=text("assignee", max_len=100),
            users_affected=validation.count(raw.get("users_affected"), field="users_affected"),
            doing=text("doing", max_len=1000),
            checklist=text("checklist", max_len=100),
        )
