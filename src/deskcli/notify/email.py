"""Caller email over SMTP with STARTTLS and login, threaded by ticket.

Every message of a ticket names the same thread root in ``References``/``In-Reply-To`` and
has the ticket number in its subject, so mail clients and the desk's mailbox keep one
conversation per ticket. ``Message-ID`` is built from the idempotency key: a resend after a
crash carries the same id, which mail systems and the desk's own intake use to drop repeats.

Headers are built only from clean one-line text (``header_text``): a summary holding a CR,
NEL or an escape sequence cannot split a header or inject one. Mail deskcli writes on its
own (acknowledgement, resolution, survey, test) says so with ``Auto-Submitted`` (RFC 3834),
so vacation responders and ticket systems do not answer it in a loop; a technician's own
update does not carry it. A UTF-8 body goes as 8-bit with
``BODY=8BITMIME`` when the server offers it, as quoted-printable otherwise; a non-ASCII
address needs the server's SMTPUTF8 and is refused with that reason when it is missing.
Every message carries the ``X-Deskcli-Ticket`` marker, so the desk's own intake never
takes its own mail in, and the subject carries the ticket tag ``[#N]``: a reply from a
mail program that drops the threading headers still finds its ticket. An acknowledgement
is ``auto-replied``; resolution, survey and test mail, which answer no message, are
``auto-generated``.
"""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate

from deskcli.domain.mail import MARKER_HEADER, MESSAGE_ID_DOMAIN, tag_subject

from .base import DeliveryError, Outgoing

DOMAIN = MESSAGE_ID_DOMAIN
#: Purposes deskcli sends on its own (not typed by a technician): RFC 3834 auto mail.
AUTOMATIC = frozenset({"acknowledgement", "resolution", "survey", "test"})

_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                            "\ud800-\udfff]+")


def header_text(value: object, *, limit: int = 300) -> str:
    """One clean line for a header: every control, line break, bidi control and lone
    surrogate becomes a space, runs of spaces fold, and the length is bounded."""
    text = _HEADER_UNSAFE.sub(" ", str(value))
    return " ".join(text.split())[:limit]


class _Encoded(str):
    """A header value already encoded for the wire: stored exactly as given."""


class _MailPolicy(EmailPolicy):
    """The standard policy, except that an ``_Encoded`` value is stored as is.

    The standard policy decodes anything that looks like an RFC 2047 encoded word on the
    way in and writes it back literally, so a summary that merely *contains*
    ``=?utf-8?b?...?=`` would reach the reader decoded into other text. Such a subject is
    encoded whole instead (``_encoded_words``), which every reader decodes back to exactly
    what the caller typed.
    """

    def header_store_parse(self, name, value):  # type: ignore[no-untyped-def]
        if isinstance(value, _Encoded):
            return (name, str(value))
        return super().header_store_parse(name, value)


POLICY = _MailPolicy()


def _encoded_words(text: str) -> _Encoded:
    """``text`` as base64 UTF-8 encoded words, each well under the 75-character limit,
    one per folded line (whitespace between encoded words is dropped when decoding)."""
    words, chunk = [], ""
    for char in text:
        if len((chunk + char).encode()) > 30:  # a line stays under 78: never refolded
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return _Encoded("\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?="
                               for w in words if w))


def body_text(value: object) -> str:
    """The body as lines a mail client shows as text: CR, NEL, LS/PS become line breaks,
    other controls (ESC, BEL, ...) are dropped; tabs stay."""
    text = str(value).replace("\r\n", "\n")
    text = re.sub("[\r\x0b\x0c\x85\u2028\u2029]", "\n", text)
    text = re.sub("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]", "", text)
    return text


def message_id(key: str) -> str:
    return f"<{key}@{DOMAIN}>"


def thread_id(ticket_id: str) -> str:
    return f"<ticket-{ticket_id}@{DOMAIN}>"


class SmtpSender:
    def __init__(self, name: str, *, host: str, port: int, sender: str, starttls: bool,
                 username: str | None, password: str | None, timeout: float,
                 ca_file: str | None = None) -> None:
        self.name = name
        self._host, self._port = host, port
        self._from = sender
        self._starttls = starttls
        self._username, self._password = username, password
        self._timeout = timeout
        self._ca_file = ca_file

    def build(self, message: Outgoing) -> EmailMessage:
        if not message.recipient:
            raise DeliveryError("no email address for the caller", retryable=False)
        try:
            mail = EmailMessage(policy=POLICY)
            mail["From"] = header_text(self._from)
            mail["To"] = header_text(message.recipient)
            ref = message.ticket_ref
            number = int(ref[1:]) if ref.startswith("#") and ref[1:].isdigit() else None
            subject = tag_subject(header_text(message.payload.get("subject", ref)), number)
            mail["Subject"] = _encoded_words(subject) if "=?" in subject else subject
            mail["Message-ID"] = message_id(message.key)
            mail["Date"] = formatdate(localtime=False, usegmt=True)
            root = thread_id(message.ticket_id)
            mail["In-Reply-To"] = root
            mail["References"] = root
            mail[MARKER_HEADER] = header_text(message.ticket_ref)
            if message.purpose in AUTOMATIC:
                mail["Auto-Submitted"] = ("auto-replied" if message.purpose == "acknowledgement"
                                          else "auto-generated")
            mail.set_content(body_text(message.payload.get("body", "")))
        except (ValueError, TypeError, IndexError) as error:
            # The message itself is bad: trying again cannot help, so it fails for good
            # (and the queue moves on) instead of crashing every sender run.
            raise DeliveryError(f"the message cannot be built: {error}",
                                retryable=False) from None
        return mail

    @staticmethod
    def _international(mail: EmailMessage) -> list[str]:
        """Addresses that need SMTPUTF8 (non-ASCII)."""
        return [str(mail[h]) for h in ("From", "To") if mail[h] and not str(mail[h]).isascii()]

    @staticmethod
    def _eight_bit(mail: EmailMessage) -> bool:
        return mail.get("Content-Transfer-Encoding", "7bit").lower() == "8bit"

    def send(self, message: Outgoing) -> str:
        mail = self.build(message)
        where = f"{self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls:
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(f"{where} does not offer STARTTLS; refusing to "
                                            "send the password in clear", retryable=False)
                    context = ssl.create_default_context(cafile=self._ca_file)
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                options: list[str] = []
                international = self._international(mail)
                if international:
                    if not smtp.has_extn("smtputf8"):
                        raise DeliveryError(
                            f"{where} does not offer SMTPUTF8, which the non-ASCII address "
                            f"{international[0]!r} needs; use an ASCII address or a server "
                            "with SMTPUTF8", retryable=False)
                elif self._eight_bit(mail):
                    if smtp.has_extn("8bitmime"):
                        options.append("BODY=8BITMIME")
                    else:  # a 7-bit server: the same text, quoted-printable
                        mail.set_content(mail.get_content(), cte="quoted-printable")
                refused = smtp.send_message(mail, mail_options=options)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"{where} refused the login ({error.smtp_code})",
                                retryable=False) from None
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(f"{where} does not support what this message needs: "
                                f"{error}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"{where} refused {', '.join(error.recipients)}",
                                retryable=False) from None
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise DeliveryError(f"{where} answered {error.smtp_code}: "
                                f"{_text(error.smtp_error)}", retryable=not permanent) from None
        except ssl.SSLError as error:
            raise DeliveryError(f"TLS with {where} failed: {error.reason or error}",
                                retryable=False) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"cannot reach {where}: {error or type(error).__name__}"
                                ) from None
        if refused:
            raise DeliveryError(f"{where} refused {', '.join(refused)}", retryable=False)
        return f"mailed {message.recipient}"

    def close(self) -> None:
        """Each send opens its own connection: nothing to close."""


def _text(value: bytes | str) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else value)[:160]
