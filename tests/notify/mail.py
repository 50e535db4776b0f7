"""An SMTP server for the tests: aiosmtpd with STARTTLS (a throwaway certificate) and login."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

USER, PASSWORD = "desk@example.org", "mail-password-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the cryptography package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class MailCatcher:
    folder: Path
    messages: list[Message] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)
    controller: Any = None
    cert_file: Path | None = None
    #: SMTP replies to give instead of accepting the next messages, e.g. "451 4.3.0 busy".
    refuse: list[str] = field(default_factory=list)
    #: Whether the server offers SMTPUTF8 (internationalised addresses).
    smtputf8: bool = True
    #: The MAIL FROM parameters of each accepted message (BODY=8BITMIME and the like).
    options: list[list[str]] = field(default_factory=list)

    port: int = 0

    def unique(self) -> list[Message]:
        """One message per Message-ID: what a mailbox that drops repeats holds."""
        seen: dict[str, Message] = {}
        for message in self.messages:
            seen.setdefault(str(message["Message-ID"]), message)
        return list(seen.values())

    def start(self) -> MailCatcher:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        catcher = self
        cert_file, key_file = make_certificate(self.folder)
        self.cert_file = cert_file
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)

        class Handler:
            async def handle_DATA(self, server: Any, session: Any,  # noqa: N802
                                  envelope: Any) -> str:
                if catcher.refuse:
                    return catcher.refuse.pop(0)
                message = message_from_bytes(envelope.content)
                catcher.messages.append(message)
                catcher.options.append(list(envelope.mail_options))
                catcher.ids[str(message["Message-ID"])] += 1
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
                  and auth_data.password == PASSWORD.encode())
            return AuthResult(success=ok)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     tls_context=context, require_starttls=True,
                                     authenticator=authenticate, auth_required=True,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
