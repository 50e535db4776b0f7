"""Incoming email as the desk sees it: parsing, trimming, loop detection and threading rules.

Pure rules, no I/O: a raw RFC 5322 message (bytes, from IMAP or a file) becomes a
``ParsedMail`` with the words worth keeping on a ticket, and the functions below decide
what the message is (a new request, a reply to a ticket, an automatic message that must
not start a conversation) from it and from facts the service looks up. Nothing in a
message is trusted: headers are decoded leniently, every failure to decode is noted
rather than raised, and the text is stored as given and made inert where it is shown.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum
from html.parser import HTMLParser

from .enums import Status
from .kb import extract_codes
from .validation import SUMMARY_MAX, TEXT_MAX

#: The domain of every Message-ID deskcli writes (``notify/email.py``); a reply naming one
#: of them threads to the ticket it was written for.
MESSAGE_ID_DOMAIN = "deskcli.invalid"
#: The header that marks a message as written by deskcli (never ingested again).
MARKER_HEADER = "X-Deskcli-Ticket"
#: Longest ``In-Reply-To``/``References`` list looked at (a crafted header can be huge).
MAX_REFERENCES = 50
#: Lines kept from a body; the rest stays in the original, attached to the ticket.
MAX_BODY_LINES = 2000

_OUR_ID = re.compile(
    r"^<(?:deskcli-(?P<key>[0-9a-f-]{36})-[a-z_]+-[a-z0-9_-]+-\d+|ticket-(?P<root>[0-9a-f-]{36}))"
    + "@" + re.escape(MESSAGE_ID_DOMAIN) + ">$", re.IGNORECASE)
_TAG = re.compile(r"\[#(\d{1,9})\]")
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|vs|fw|fwd|wg|antw|antwort|tr|ref|rif|r|odp|res)"
                     r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]{1,500}>")
#: C0 and C1 control characters except tab and newline: a terminal would obey them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def inert(text: str) -> str:
    """Text from a message without control characters (an escape sequence in a subject
    must not retitle or recolour the technician's terminal); tabs and newlines stay."""
    return _CONTROL.sub("", text)


class MailKind(StrEnum):
    """What a message is, before it is matched to a ticket."""

    #: A person writing: may open a ticket or become a note from the caller.
    PERSON = "person"
    #: An auto-reply, bounce or list message: never opens a ticket, never answered.
    AUTOMATIC = "automatic"
    #: Written by deskcli itself (our marker header or our own address): never ingested.
    OURS = "ours"


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    """One incoming message, decoded; ``problems`` says what could not be decoded."""

    #: ``<id@host>`` as sent, or None when the message has none.
    message_id: str | None
    #: What the message is remembered by: its Message-ID, else a hash of its content.
    key: str
    sender: str | None
    sender_name: str | None
    subject: str
    #: The subject without ``Re:``/``AW:``/``[#N]``: the ticket's summary.
    summary: str
    #: The whole readable text (HTML-only mail converted), quoted history included.
    body: str
    #: The body without the quoted history and signature: the caller's own words.
    words: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    #: The ticket number of a ``[#N]`` tag in the subject.
    tag: int | None
    kind: MailKind
    #: Why the message is automatic or ours (the header that says so).
    kind_reason: str | None
    attachments: tuple[MailAttachment, ...]
    recipients: tuple[str, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def error_codes(self) -> list[str]:
        """Error codes and event ids in the caller's words (the desk's own recogniser)."""
        return extract_codes(self.words)

    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, nearest first: In-Reply-To, then References
        from the last (the parent) back to the root."""
        seen: list[str] = []
        for mid in (*self.in_reply_to, *reversed(self.references)):
            if mid not in seen:
                seen.append(mid)
        return seen[:MAX_REFERENCES]


# --- headers ------------------------------------------------------------------------------


def _header(msg: Message, name: str, problems: list[str]) -> str:
    if name not in msg:  # cheap: parsing a header object is the expensive part
        return ""
    try:
        value = msg.get(name)
    except Exception as error:  # a header the parser cannot make sense of
        problems.append(f"{name} header unreadable ({type(error).__name__})")
        return ""
    if value is None:
        return ""
    return " ".join(str(value).split())


def message_ids(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.lower() for m in _MSGID.findall(text or "")))[:MAX_REFERENCES]


def our_ticket_id(message_id: str) -> str | None:
    """The ticket id inside a Message-ID deskcli wrote, or None for anyone else's."""
    match = _OUR_ID.match(message_id)
    if not match:
        return None
    return (match.group("key") or match.group("root")).lower()


def clean_subject(subject: str) -> str:
    """The subject as a summary: reply/forward prefixes (any language, repeated) and ticket
    tags removed, one line, at most the summary's length; never empty."""
    text = _TAG.sub(" ", " ".join(inert(subject).split()))
    previous = None
    while previous != text:
        previous = text
        text = _PREFIX.sub("", text).strip()
        text = _TAG.sub(" ", text).strip()
    text = " ".join(text.split())
    if not text:
        return "(no subject)"
    if len(text) > SUMMARY_MAX:
        text = text[:SUMMARY_MAX - 1].rstrip() + "…"
    return text


def subject_tag(subject: str) -> int | None:
    """The ticket number tagged ``[#N]`` in a subject; the first tag counts."""
    match = _TAG.search(subject)
    return int(match.group(1)) if match else None


def tag_subject(subject: str, number: int | None) -> str:
    """An outgoing subject carrying its ticket's tag, so a reply finds its ticket even when
    the caller's mail program drops the threading headers."""
    if number is None or f"[#{number}]" in subject:
        return subject
    return f"[#{number}] {subject}"


def classify(msg: Message, sender: str | None, own_addresses: Iterable[str],
             problems: list[str]) -> tuple[MailKind, str | None]:
    """Ours, automatic, or a person; with the header that decided it.

    RFC 3834 (``Auto-Submitted``), delivery reports (``multipart/report``, an empty
    return path), ``Precedence: bulk|auto_reply|list|junk``, and the vendor headers
    auto-responders set (``X-Autoreply``, ``X-Autorespond``, ``X-Auto-Response-Suppress``)
    mark a message that must never start or feed a conversation.
    """
    own = {a.lower() for a in own_addresses if a}
    if _header(msg, MARKER_HEADER, problems):
        return MailKind.OURS, f"carries our {MARKER_HEADER} header"
    if sender and sender in own:
        return MailKind.OURS, f"sent from our own address {sender}"
    auto = _header(msg, "Auto-Submitted", problems).lower()
    if auto and auto != "no":
        return MailKind.AUTOMATIC, f"Auto-Submitted: {inert(auto)[:40]}"
    if msg.get_content_type() == "multipart/report":
        return MailKind.AUTOMATIC, "a delivery status report (bounce)"
    precedence = _header(msg, "Precedence", problems).lower()
    if precedence in ("bulk", "auto_reply", "list", "junk"):
        return MailKind.AUTOMATIC, f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = _header(msg, name, problems)
        if value:
            return MailKind.AUTOMATIC, f"{name}: {inert(value)[:40]}"
    if _header(msg, "List-Id", problems):
        return MailKind.AUTOMATIC, "a mailing-list message (List-Id)"
    if _header(msg, "Return-Path", problems) == "<>" or (
            sender or "").split("@")[0] in ("mailer-daemon", "postmaster"):
        return MailKind.AUTOMATIC, "from a mail system (bounce)"
    return MailKind.PERSON, None


# --- bodies -------------------------------------------------------------------------------


class _TextFromHtml(HTMLParser):
    """Readable text from HTML mail: blocks become lines, scripts and styles vanish,
    quoted history (``blockquote``, Gmail's and Outlook's reply containers) is marked
    with ``>`` so the trimming below can recognise it."""

    _BLOCK = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                        "table", "ul", "ol", "hr", "pre", "blockquote"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0
        self._stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
            return
        marks = dict(attrs)
        quoted = tag == "blockquote" or (marks.get("class") or "").startswith("gmail_quote") \
            or marks.get("id") in ("divRplyFwdMsg", "appendonsend")
        if tag in ("div", "blockquote"):
            self._stack.append(quoted)
            if quoted:
                self._quote += 1
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(self._skip - 1, 0)
            return
        if tag in ("div", "blockquote") and self._stack and self._stack.pop():
            self._quote -= 1
        if tag in self._BLOCK and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = " ".join(data.split())
        if not text:
            if data and self.parts and not self.parts[-1].endswith((" ", "\n")):
                self.parts.append(" ")
            return
        if self._quote:
            self.parts.append("\n" + "\n".join("> " + line for line in text.splitlines())
                              + "\n")
        else:
            lead = " " if data[:1].isspace() and self.parts and \
                not self.parts[-1].endswith((" ", "\n")) else ""
            self.parts.append(lead + text + (" " if data[-1:].isspace() else ""))


def html_to_text(markup: str) -> str:
    parser = _TextFromHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: fall back to tags stripped
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _decode_part(part: Message, problems: list[str]) -> str:
    """A text part's content; an unknown or wrong charset is decoded with replacements
    and noted, never raised."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, AssertionError, ValueError) as error:
        problems.append(f"text in an unreadable charset ({part.get_content_charset()!r}): "
                        f"decoded with replacement characters ({type(error).__name__})")
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return str(part.get_payload() or "")


_QUOTE_HEADERS = (
    re.compile(r"^(?:on|am|le|den|el|il|op|w dniu)\b.{0,300}"
               r"(?:wrote|schrieb|a écrit|skrev|escribió|ha scritto|schreef|napisał)\s*:\s*$",
               re.IGNORECASE),
    re.compile(r"^-{2,}\s*(?:original message|ursprüngliche nachricht|ursprungligt "
               r"meddelande|message d'origine|forwarded message|weitergeleitete nachricht)"
               r"\s*-{2,}\s*$", re.IGNORECASE),
)
_OUTLOOK_FROM = re.compile(r"^\*?(?:from|von|från|de|fra|van|da|od)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\*?(?:sent|gesendet|skickat|envoyé|sendt|verzonden|inviato|date|"
                           r"datum|to|an|till|à|subject|betreff|ämne|objet)\s*:",
                           re.IGNORECASE)
_SIGNATURE = (
    re.compile(r"^--\s?$"),
    re.compile(r"^(?:sent from my |get outlook for |von meinem .* gesendet|skickat från min )",
               re.IGNORECASE),
)


def trim_reply(text: str) -> str:
    """The writer's own words: cut at the first quoted-history header (Gmail's "On … wrote:",
    Outlook's "From:/Sent:" block or "-----Original Message-----", in several languages)
    and at the signature delimiter ("-- ") or a phone's "Sent from my …"; a trailing block of
    "> " lines goes too. When trimming would leave nothing, the text is kept whole."""
    lines = text.splitlines()
    cut = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = " ".join(part.strip() for part in lines[index:index + 2])
        if any(p.match(stripped) for p in _QUOTE_HEADERS) or (
                stripped and not stripped.startswith(">")
                and _QUOTE_HEADERS[0].match(joined) and joined.endswith(":")):
            cut = index
            break
        if re.fullmatch(r"_{8,}", stripped) and index + 1 < len(lines) and \
                _OUTLOOK_FROM.match(lines[index + 1].strip()):
            cut = index
            break
        if _OUTLOOK_FROM.match(stripped) and any(
                _OUTLOOK_NEXT.match(n.strip()) for n in lines[index + 1:index + 4]):
            cut = index
            break
        if any(p.match(line) for p in _SIGNATURE):
            cut = index
            break
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    words = "\n".join(kept).strip()
    return words or text.strip()


def _limit(text: str, problems: list[str]) -> str:
    lines = text.splitlines()
    if len(lines) > MAX_BODY_LINES:
        problems.append(f"the body has {len(lines)} lines; the first {MAX_BODY_LINES} are on "
                        "the ticket, all of them in the attached original")
        text = "\n".join(lines[:MAX_BODY_LINES])
    if len(text) > TEXT_MAX:
        problems.append(f"the body has {len(text)} characters; the first {TEXT_MAX - 200} are "
                        "on the ticket, all of them in the attached original")
        text = text[:TEXT_MAX - 200]
    return text


def _filename(part: Message, index: int, problems: list[str]) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
        problems.append(f"attachment {index}: unreadable file name")
    name = " ".join((name or "").replace("/", "_").replace("\\", "_").split())
    name = "".join(ch for ch in name if ch.isprintable())[:120].lstrip(".")
    if not name:
        subtype = part.get_content_subtype() or "bin"
        name = f"attachment-{index}.{subtype[:10]}"
    return name


def _leaves(part: Message) -> Iterable[Message]:
    """The parts that carry content, depth first. A delivery report's machine-readable
    parts are skipped; a forwarded message (``message/rfc822``) is one leaf, kept whole."""
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        yield part
        return
    if ctype.startswith("message/") or ctype == "text/rfc822-headers":
        return
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    yield from _leaves(child)
        return
    yield part


def _walk(msg: Message, problems: list[str]) -> tuple[str | None, str | None,
                                                      list[MailAttachment]]:
    plain: str | None = None
    markup: str | None = None
    attachments: list[MailAttachment] = []
    index = 0
    for part in _leaves(msg):
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype.startswith("multipart/"):
            # A multipart whose boundary never appears: its text is all there is.
            text = part.get_payload()
            if isinstance(text, str) and plain is None:
                plain = text
            continue
        if disposition != "attachment" and ctype == "text/plain" and plain is None:
            plain = _decode_part(part, problems)
            continue
        if disposition != "attachment" and ctype == "text/html" and markup is None:
            markup = _decode_part(part, problems)
            continue
        index += 1
        data: object
        try:
            if ctype == "message/rfc822":
                inner = part.get_payload()
                forwarded = inner[0] if isinstance(inner, list) else inner
                data = forwarded.as_bytes() if isinstance(forwarded, Message) else None
            else:
                data = part.get_payload(decode=True)
        except Exception:
            data = None
        if not isinstance(data, bytes):
            problems.append(f"attachment {index} could not be decoded")
            continue
        name = _filename(part, index, problems)
        if ctype == "message/rfc822" and not name.endswith(".eml"):
            name = f"forwarded-{index}.eml"
        attachments.append(MailAttachment(name, ctype, data))
    return plain, markup, attachments


def _reported_ids(msg: Message) -> tuple[str, ...]:
    """The Message-IDs of the message a delivery report is about (its returned headers or
    copy), so a bounce of our own acknowledgement finds the ticket it was sent for."""
    found: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        try:
            if ctype == "text/rfc822-headers":
                payload = part.get_payload(decode=True)
                text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
                inner = email.message_from_string(text, policy=email.policy.compat32)
                found.extend(message_ids(str(inner.get("Message-ID", ""))))
            elif ctype == "message/rfc822":
                payload = part.get_payload()
                attached = payload[0] if isinstance(payload, list) and payload else None
                if isinstance(attached, Message):
                    found.extend(message_ids(str(attached.get("Message-ID", ""))))
        except Exception:  # a report we cannot read threads nowhere; nothing else breaks
            continue
    return tuple(dict.fromkeys(found))[:MAX_REFERENCES]


def content_key(raw: bytes) -> str:
    """What a message without a Message-ID is remembered by."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, *, own_addresses: Iterable[str] = ()) -> ParsedMail:
    """Decode one message. Never raises for bad mail: what could not be read is in
    ``problems`` and the caller decides whether the rest is enough."""
    problems: list[str] = []
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for defect in getattr(msg, "defects", [])[:3]:
        problems.append(f"malformed message: {type(defect).__name__}")
    mid_header = _header(msg, "Message-ID", problems)
    mids = message_ids(mid_header)
    message_id = mids[0] if mids else None
    from_header = _header(msg, "From", problems)
    name, address = parseaddr(from_header)
    sender = address.strip().lower() if address and "@" in address else None
    if sender and (len(sender) > 254 or not sender.isprintable()
                   or any(c.isspace() or c in "<>\"'," for c in sender)):
        problems.append("From address malformed")
        sender = None
    subject = _header(msg, "Subject", problems)
    recipients: list[str] = []
    for header in ("To", "Cc"):
        for _n, addr in getaddresses([_header(msg, header, problems)]):
            if "@" in addr:
                recipients.append(addr.lower())
    kind, reason = classify(msg, sender, own_addresses, problems)
    references = message_ids(_header(msg, "References", problems))
    if msg.get_content_type() == "multipart/report":
        references = (*references, *_reported_ids(msg))
    try:
        plain, markup, attachments = _walk(msg, problems)
    except Exception as error:  # malformed MIME beyond what the parser recovers from
        problems.append(f"malformed MIME structure ({type(error).__name__})")
        plain, markup, attachments = raw.decode("utf-8", errors="replace"), None, []
    if plain is not None and plain.strip():
        body = plain
    elif markup is not None:
        body = html_to_text(markup)
    else:
        body = plain or ""
    body = inert(body.replace("\r\n", "\n").replace("\r", "\n"))
    body = _limit(body, problems)
    words = trim_reply(body) if body.strip() else ""
    return ParsedMail(
        message_id=message_id, key=message_id or content_key(raw),
        sender=sender, sender_name=" ".join(inert(name).split())[:200] or None,
        subject=inert(subject), summary=clean_subject(subject), body=body.strip(), words=words,
        in_reply_to=message_ids(_header(msg, "In-Reply-To", problems)),
        references=references,
        tag=subject_tag(subject), kind=kind, kind_reason=reason,
        attachments=tuple(attachments), recipients=tuple(recipients),
        problems=tuple(problems))


# --- what a reply does to its ticket -----------------------------------------------------


class ReplyEffect(StrEnum):
    """What a caller's reply does to the ticket it threads to."""

    NOTE = "note"
    #: Waiting on the caller, who answered: back to open.
    BACK_TO_OPEN = "back-to-open"
    #: Resolved, and the caller wrote again: reopened ("caller replied").
    REOPEN = "reopen"
    #: Closed tickets stay closed: a new ticket linked to the old one.
    NEW_LINKED = "new-linked"


REOPEN_REASON = "caller replied"


def reply_effect(status: Status) -> ReplyEffect:
    if status is Status.PENDING_CALLER:
        return ReplyEffect.BACK_TO_OPEN
    if status is Status.RESOLVED:
        return ReplyEffect.REOPEN
    if status is Status.CLOSED:
        return ReplyEffect.NEW_LINKED
    return ReplyEffect.NOTE


def tag_refusal(*, number: int, sender: str | None, parties: Iterable[str],
                ticket_client: str | None, mailbox_client: str | None) -> str | None:
    """Why a ``[#N]`` tag must not attach this message to ticket N, or None if it may.

    A tag is typed by anyone: guessing numbers must not let a stranger write onto another
    customer's ticket. Only a sender who is already a party of the ticket (its caller, or
    someone whose mail is already on it) may add to it, and never across clients.
    """
    if mailbox_client and ticket_client and mailbox_client.casefold() != \
            ticket_client.casefold():
        return (f"the subject names #{number}, a ticket of another client; opened a new "
                "ticket instead")
    if not sender or sender.lower() not in {p.lower() for p in parties if p}:
        return (f"the subject names #{number}, but {sender or 'the sender'} is not a party "
                "of that ticket; opened a new ticket instead")
    return None


def acknowledgement_wanted(parsed: ParsedMail) -> bool:
    """Only a person gets an acknowledgement; answering an automatic message is how mail
    loops start."""
    return parsed.kind is MailKind.PERSON and parsed.sender is not None

