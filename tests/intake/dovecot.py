"""A throwaway Dovecot IMAP server for the email intake tests.

Started from the OS package's binary with a generated config: one passwd-file user, a
maildir in a temporary folder, plain IMAP on a free 127.0.0.1 port (and IMAPS with a
self-signed certificate when ``tls`` is asked for). Nothing of the machine's own Dovecot
configuration is read, and it is stopped (or killed) by the test that started it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot"
                                       if Path("/usr/sbin/dovecot").exists() else None)
#: Why the IMAP tests skip on this machine, or None when they can run.
SKIP_REASON = (None if DOVECOT else
               "dovecot is not installed (apt-get install dovecot-imapd; .ci/dovecot.sh "
               "does it in CI)")

USER = "support@example.org"
PASSWORD = "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dovecot:
    """One Dovecot process; ``port`` speaks plain IMAP, ``tls_port`` IMAPS when enabled."""

    def __init__(self, *, tls: bool = False) -> None:
        assert DOVECOT, SKIP_REASON
        # Not under pytest's tmp_path: when run as root the mail user must be able to walk
        # into the folder, and pytest's folders are private to their owner.
        self.root = Path(tempfile.mkdtemp(prefix="deskcli-dovecot-"))
        os.chmod(self.root, 0o755)
        self.tls = tls
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.process: subprocess.Popen[bytes] | None = None
        self.cert: Path | None = None

    def _config(self) -> str:
        me = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:
            # Dovecot refuses to run mail as root and wants its own unprivileged users.
            mail_user = pwd.getpwnam("nobody")
            internal, login = "dovecot", "dovenull"
        else:
            mail_user = pwd.getpwuid(os.getuid())
            internal = login = me
        home = self.root / "home"
        home.mkdir(exist_ok=True)
        os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        ssl = "no"
        listeners = f"""
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port or 0}
    ssl = yes
  }}"""
        ssl_lines = ""
        if self.tls:
            self.cert = self.root / "cert.pem"
            key = self.root / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", str(key), "-out", str(self.cert), "-days", "2",
                            "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           check=True, capture_output=True)
            ssl = "yes"
            ssl_lines = f"ssl_cert = <{self.cert}\nssl_key = <{key}\n"
        return f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
shutdown_clients = yes
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={home}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot ={listeners}
}}
service anvil {{
  chroot =
}}
"""

    def start(self) -> Dovecot:
        config = self.root / "dovecot.conf"
        config.write_text(self._config())
        self.process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                log = (self.root / "dovecot.log")
                raise RuntimeError(f"dovecot exited: {err}\n"
                                   f"{log.read_text() if log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening within 20 s")

    def stop(self) -> None:
        """Stop the server and every session it serves (an outage, not a graceful drain):
        the whole process group goes, so a fetcher mid-pass sees its connection drop."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            try:  # sessions that outlived their master
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the tests' side of the mailbox ----------------------------------------------

    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Put messages into a folder, as the mail server's delivery would."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw)

    def count(self, folder: str) -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.select_folder(folder, readonly=True)[b"EXISTS"])

    def messages(self, folder: str) -> list[bytes]:
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["RFC822"])
            return [data[uid][b"RFC822"] for uid in sorted(data)]
