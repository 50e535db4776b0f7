"""One IMAP session on a configured mailbox, through imapclient.

Every failure to reach, log into or read the server becomes ``MailboxUnreachable`` with a
one-line reason (the fetch pass stops and ``mail fetch`` exits 1); a message that vanished
meanwhile (another fetcher moved it) is not an error.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from deskcli.domain.mailboxes import MailboxSettings, Security
from deskcli.secrets import lookup_secret
from deskcli.services.mail import MailboxUnreachable

KEYRING_SERVICE = "deskcli-intake"
#: Response codes (RFC 5530) for a message expunged by another session meanwhile.
_GONE = ("EXPUNGEISSUED", "NONEXISTENT", "NO LONGER EXIST")


def password_for(box: MailboxSettings, environ: Mapping[str, str] | None = None) -> str:
    """The mailbox's password: environment first, then the keyring; never a file."""
    return lookup_secret(variable=box.env_var(), service=KEYRING_SERVICE,
                         account=box.keyring_account,
                         what=f"mailbox {box.name!r} needs its password", environ=environ)


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, bytes):
        text = error.decode(errors="replace")
    return " ".join(text.split())[:200]


class ImapMailbox:
    """A logged-in session; ``select`` a folder, then list, fetch and move by UID."""

    def __init__(self, box: MailboxSettings, password: str, *, timeout: float = 30.0) -> None:
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError, LoginError

        self.box = box
        where = f"{box.host}:{box.port}"
        context = None
        if box.security is not Security.NONE:
            context = ssl.create_default_context(cafile=box.ca_file)
        try:
            self.client = IMAPClient(box.host, port=box.port,
                                     ssl=box.security is Security.TLS, ssl_context=context,
                                     timeout=timeout)
        except ssl.SSLError as error:
            raise MailboxUnreachable(f"TLS with {where} failed: {_reason(error)}") from None
        except (TimeoutError, OSError, IMAPClientError) as error:
            raise MailboxUnreachable(f"cannot reach {where}: {_reason(error)}") from None
        try:
            if box.security is Security.STARTTLS:
                self.client.starttls(context)
            self.client.login(box.username, password)
        except LoginError as error:
            self.close()
            raise MailboxUnreachable(f"{where} refused the login for {box.username}: "
                                     f"{_reason(error)}") from None
        except ssl.SSLError as error:
            self.close()
            raise MailboxUnreachable(f"TLS with {where} failed: {_reason(error)}") from None
        except (OSError, IMAPClientError) as error:
            self.close()
            raise MailboxUnreachable(f"{where}: {_reason(error)}") from None
        self._can_move = False
        try:
            caps = {c.upper() for c in self.client.capabilities()}
            self._can_move = b"MOVE" in caps
            self._uidplus = b"UIDPLUS" in caps
        except Exception as error:
            self.close()
            raise MailboxUnreachable(f"{where}: {_reason(error)}") from None

    def _call(self, what: str, fn: Any, *args: Any, gone_ok: bool = False,
              **kwargs: Any) -> Any:
        from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

        try:
            return fn(*args, **kwargs)
        except (OSError, IMAPClientError) as error:
            if gone_ok and not isinstance(error, IMAPClientAbortError | OSError) and any(
                    code in str(error).upper() for code in _GONE):
                return None  # another fetcher moved the message meanwhile
            raise MailboxUnreachable(f"{self.box.host}:{self.box.port}: {what} failed: "
                                     f"{_reason(error)}") from None

    def folders(self) -> list[str]:
        return [str(name) for _flags, _sep, name in self._call("LIST", self.client.list_folders)]

    def ensure_folder(self, folder: str) -> bool:
        """Create a folder that does not exist yet; True when it was created."""
        if self._call("LIST", self.client.folder_exists, folder):
            return False
        self._call(f"CREATE {folder}", self.client.create_folder, folder)
        return True

    def select(self, folder: str) -> int:
        for target in (self.box.processed_folder, self.box.refused_folder):
            self.ensure_folder(target)
        info = self._call(f"SELECT {folder}", self.client.select_folder, folder)
        return int(info[b"UIDVALIDITY"])

    def examine(self, folder: str) -> int:
        """How many messages a folder holds, read-only (``mail test``)."""
        info = self._call(f"EXAMINE {folder}", self.client.select_folder, folder,
                          readonly=True)
        return int(info[b"EXISTS"])

    def uids(self) -> list[int]:
        return sorted(int(u) for u in self._call("SEARCH", self.client.search, "ALL"))

    def size(self, uid: int) -> int | None:
        data = self._call("FETCH", self.client.fetch, [uid], ["RFC822.SIZE"], gone_ok=True)
        entry = (data or {}).get(uid)
        return int(entry[b"RFC822.SIZE"]) if entry else None

    def fetch(self, uid: int) -> bytes | None:
        # BODY.PEEK leaves the \\Seen flag alone: a refused message still looks unread to a
        # person opening the mailbox.
        data = self._call("FETCH", self.client.fetch, [uid], ["BODY.PEEK[]"], gone_ok=True)
        entry = (data or {}).get(uid)
        body = entry.get(b"BODY[]") if entry else None
        # An empty answer is a message expunged by another session while we asked.
        return bytes(body) if body else None

    def move(self, uids: list[int], folder: str) -> None:
        """Move messages (one command for many); any already gone are skipped."""
        if not uids:
            return
        done = self._move(uids, folder)
        if done is None and len(uids) > 1:
            # Some were expunged by another session: the server may have moved none of
            # them, so move the rest one by one.
            for uid in uids:
                self._move([uid], folder)

    def _move(self, uids: list[int], folder: str) -> object:
        if self._can_move:
            return self._call(f"MOVE to {folder}", self.client.move, uids, folder,
                              gone_ok=True)
        if self._call(f"COPY to {folder}", self.client.copy, uids, folder,
                      gone_ok=True) is None:
            return None
        self._call("STORE", self.client.delete_messages, uids, gone_ok=True)
        if self._uidplus:
            self._call("EXPUNGE", self.client.uid_expunge, uids)
        else:
            self._call("EXPUNGE", self.client.expunge)
        return True

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # already gone: nothing left to close
            try:
                self.client.shutdown()
            except Exception:
                pass


def connect(box: MailboxSettings, *, environ: Mapping[str, str] | None = None,
            timeout: float = 30.0) -> ImapMailbox:
    """Log into a mailbox; a missing password raises InvalidInput (a setup problem)."""
    return ImapMailbox(box, password_for(box, environ), timeout=timeout)
