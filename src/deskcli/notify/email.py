"""Caller email over SMTP with STARTTLS and login, threaded by ticket.

Every message of a ticket names the same thread root in ``References``/``In-Reply-To`` and
has the ticket number in its subject, so mail clients and the desk's mailbox keep one
conversation per ticket. ``Message-ID`` is built from the idempotency key: a resend after a
crash carries the same id, which mail systems and the desk's own intake use to drop repeats.

Mail deskcli writes by itself (acknowledgement, resolution, survey) says so with
``Auto-Submitted: auto-replied`` (RFC 3834), so well-behaved auto-responders do not answer
it, and every message carries the ``X-Deskcli-Ticket`` marker, so the desk's own intake never
takes its own mail in. The subject carries the ticket tag ``[#N]``: a reply from a mail
program that drops the threading headers still finds its ticket.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from deskcli.domain.mail import MARKER_HEADER, MESSAGE_ID_DOMAIN, tag_subject

from .base import DeliveryError, Outgoing

DOMAIN = MESSAGE_ID_DOMAIN
#: Purposes written by a technician; everything else deskcli sends by itself.
_TYPED = frozenset({"update", "test"})


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
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.recipient
        ref = message.ticket_ref
        number = int(ref[1:]) if ref.startswith("#") and ref[1:].isdigit() else None
        mail["Subject"] = tag_subject(str(message.payload.get("subject", ref)), number)
        mail["Message-ID"] = message_id(message.key)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        root = thread_id(message.ticket_id)
        mail["In-Reply-To"] = root
        mail["References"] = root
        mail[MARKER_HEADER] = message.ticket_ref
        if message.purpose not in _TYPED:
            mail["Auto-Submitted"] = "auto-replied" if message.purpose == "acknowledgement" \
                else "auto-generated"
        mail.set_content(str(message.payload.get("body", "")))
        return mail

    def send(self, message: Outgoing) -> str:
        mail = self.build(message)
        where = f"{self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls:
                    context = ssl.create_default_context(cafile=self._ca_file)
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"{where} refused the login ({error.smtp_code})",
                                retryable=False) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"{where} does not offer STARTTLS; refusing to send the "
                                "password in clear", retryable=False) from None
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
