"""The test corpus: real-shaped messages built with the ``email`` package.

Each builder returns the bytes a mail server would hold. Shapes follow what Outlook, Gmail,
Exchange auto-replies, MTAs' delivery reports and list servers actually write, so the
parsing, trimming and loop rules are tested against what arrives, not against ideals.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

SUPPORT = "support@example.org"
DATE = "Tue, 24 Nov 2026 09:00:00 +0000"


def _base(subject: str, sender: str, *, message_id: str | None, name: str | None = None,
          to: str = SUPPORT) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = str(Address(name, addr_spec=sender)) if name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = DATE
    if message_id:
        msg["Message-ID"] = message_id
    return msg


def plain(subject: str = "Outlook keeps asking for my password",
          sender: str = "alice@acme.example", *, message_id: str | None = "<p1@acme.example>",
          body: str = "Since this morning Outlook asks for my password every five minutes.\n"
                      "It shows error 0x800CCC0E when sending.\n\nAlice\n",
          name: str | None = "Alice Smith", **headers: str) -> bytes:
    msg = _base(subject, sender, message_id=message_id, name=name)
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def html_only(message_id: str = "<h1@acme.example>") -> bytes:
    msg = _base("Printer on 3rd floor jams", "bob@acme.example", message_id=message_id,
                name="Bob")
    msg.set_content("<html><head><style>p{color:red}</style></head><body>"
                    "<p>Hello,</p><p>The printer <b>PRN-3F</b> jams on every page.</p>"
                    "<ul><li>tried new paper</li><li>restarted it</li></ul>"
                    "<script>alert(1)</script><p>Thanks &amp; regards</p></body></html>",
                    subtype="html")
    return msg.as_bytes()


def with_attachments(big: int = 0, message_id: str = "<a1@acme.example>") -> bytes:
    msg = _base("Screenshot of the VPN error", "carol@acme.example", message_id=message_id,
                name="Carol")
    msg.set_content("The VPN client fails, screenshot attached.\nError 809.\n")
    msg.add_attachment(b"\x89PNG\r\n\x1a\nfakepng", maintype="image", subtype="png",
                       filename="vpn-error.png")
    msg.add_attachment("log line 1\nlog line 2\n", filename="vpn.log")
    if big:
        msg.add_attachment(b"\0" * big, maintype="application", subtype="octet-stream",
                           filename="dump.bin")
    return msg.as_bytes()


def rfc2047(message_id: str = "<u1@acme.example>") -> bytes:
    msg = _base("Drucker druckt nicht – Büro Zürich", "jürgen@acme.example".replace("ü", "u"),
                message_id=message_id, name="Jürgen Müller")
    msg.set_content("Grüße aus Zürich: der Drucker zeigt Fehler 0x80070005.\n")
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw  # the name and subject travel RFC 2047-encoded
    return raw


def outlook_reply(in_reply_to: str | None, subject: str, sender: str = "alice@acme.example",
                  message_id: str = "<r1@acme.example>", prefix: str = "RE:") -> bytes:
    msg = _base(f"{prefix} {subject}", sender, message_id=message_id, name="Alice Smith")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["Thread-Topic"] = subject
    msg.set_content(
        "It still happens after the restart.\n\nAlice Smith\nAccounts | Acme\n\n"
        "________________________________\n"
        "From: Service Desk <support@example.org>\nSent: Tuesday, November 24, 2026 9:01 AM\n"
        "To: Alice Smith <alice@acme.example>\nSubject: We have your request\n\n"
        "Hi Alice,\nThanks for getting in touch.\n")
    return msg.as_bytes()


def gmail_reply(in_reply_to: str | None, subject: str, sender: str = "alice@acme.example",
                message_id: str = "<g1@mail.gmail.example>", prefix: str = "Re:",
                references: str | None = None) -> bytes:
    msg = _base(f"{prefix} {subject}", sender, message_id=message_id, name="Alice Smith")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    text = ("Yes, restarting fixed it for now.\n\n"
            "On Tue, 24 Nov 2026 at 09:01, Service Desk <support@example.org> wrote:\n"
            "> Hi Alice,\n> Thanks for getting in touch.\n>\n")
    msg.set_content(text)
    msg.add_alternative("<div dir=\"ltr\">Yes, restarting fixed it for now.</div><br>"
                        "<div class=\"gmail_quote\"><div>On Tue, 24 Nov 2026 at 09:01, "
                        "Service Desk wrote:</div><blockquote>Hi Alice</blockquote></div>",
                        subtype="html")
    return msg.as_bytes()


def out_of_office(in_reply_to: str | None = None,
                  message_id: str = "<ooo1@acme.example>") -> bytes:
    msg = _base("Automatic reply: We have your request", "alice@acme.example",
                message_id=message_id)
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content("I am out of the office until Monday.\n")
    return msg.as_bytes()


def bounce(original_id: str = "<p1@acme.example>",
           message_id: str = "<dsn1@mx.example.org>") -> bytes:
    """A Postfix-shaped delivery status notification (RFC 3464), written out by hand:
    the ``email`` package cannot generate ``message/delivery-status`` parts."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: {DATE}\r\n"
        f"Message-ID: {message_id}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host "
        "mx.example.org. Your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
        "mx.example.org\r\n\r\nFinal-Recipient: rfc822; nobody@acme.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nSubject: [#1] We have your request\r\n"
        "--B--\r\n").encode()


def mailing_list(message_id: str = "<list1@lists.example>") -> bytes:
    msg = _base("[it-announce] Maintenance window Saturday", "announce@lists.example",
                message_id=message_id)
    msg["List-Id"] = "IT announcements <it-announce.lists.example>"
    msg["Precedence"] = "list"
    msg.set_content("The mail servers will be down on Saturday.\n")
    return msg.as_bytes()


def no_message_id(body: str = "My monitor flickers.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "dave@acme.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "Monitor flickers"
    msg["Date"] = formatdate(0, usegmt=True)
    msg.set_content(body)
    return msg.as_bytes()


def spoofed_tag(number: int, sender: str = "mallory@evil.example",
                message_id: str = "<spoof1@evil.example>") -> bytes:
    msg = _base(f"Re: [#{number}] urgent", sender, message_id=message_id, name="Mallory")
    msg.set_content("Please reset the CEO's password and send it to me.\n")
    return msg.as_bytes()


def ours(message_id: str = "<deskcli-x@deskcli.invalid>") -> bytes:
    msg = _base("[#1] We have your request", SUPPORT, message_id=message_id)
    msg["X-Deskcli-Ticket"] = "#1"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Hi,\n")
    return msg.as_bytes()


def bad_charset(message_id: str = "<cs1@acme.example>") -> bytes:
    return (b"From: erin@acme.example\r\nTo: support@example.org\r\n"
            b"Subject: Keyboard broken\r\nMessage-ID: " + message_id.encode() + b"\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\nThe keyboard \xff\xfe types nothing.\r\n")


def malformed_mime(message_id: str = "<mm1@acme.example>") -> bytes:
    return (b"From: frank@acme.example\r\nTo: support@example.org\r\n"
            b"Subject: Broken structure\r\nMessage-ID: " + message_id.encode() + b"\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n"
            b"--wrong\r\nContent-Type: text/plain\r\n\r\nMy laptop does not boot.\r\n"
            b"--wrong--\r\n")


def no_from(message_id: str = "<nf1@acme.example>") -> bytes:
    return (b"To: support@example.org\r\nSubject: Who am I\r\nMessage-ID: "
            + message_id.encode() + b"\r\n\r\nHello?\r\n")


def long_body(lines: int = 10_000, message_id: str = "<lb1@acme.example>") -> bytes:
    return plain("Log dump", "gina@acme.example", message_id=message_id,
                 body="".join(f"line {n}: something happened\n" for n in range(lines)))
