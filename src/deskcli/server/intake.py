"""Email intake inside ``deskcli serve``: the server is the one place that fetches.

The fetcher is a technician like any other, as far as the rest of deskcli knows: it has a
store of its own (``<data>/mail-intake/deskcli.db``, holding the exactly-once ledger and the
outbound queue of acknowledgements), takes its ticket numbers from this server's blocks,
and pushes each ticket it opens through the sync API, from where every technician pulls it.
So the numbering authority, the sync guarantees and the queue's exactly-once sending are
the ones that already exist; nothing here writes to the server's tables directly except
the service account and the fetch claim.

One fetcher per ``serve`` process (not per HTTP worker). Several ``serve`` processes on one
database (several hosts) take turns: each pass first claims the intake in the server
database under a lease, so only one of them fetches at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from deskcli.paths import Paths
from deskcli.server.service_accounts import ServiceWorker, claim_lease, issue_token

#: The service account the fetcher syncs as; it sees every client (mail is for any of them).
HANDLE = "mail-intake"
CLAIM = "mail"


def service_token(database_url: str) -> str:
    """A fresh token for the intake account (``service_accounts.issue_token``)."""
    return issue_token(database_url, HANDLE, name="Email intake", tier=1)


def claim(database_url: str, owner: str, lease: timedelta) -> bool:
    """Take (or keep) the intake for ``owner``; False when another server process holds
    it (``service_accounts.claim_lease``)."""
    return claim_lease(database_url, CLAIM, owner, lease)


class MailWorker(ServiceWorker):
    """Fetch every configured mailbox, then push and send, every ``watch_interval``."""

    def __init__(self, *, server_url: str, database_url: str, token: str, paths: Paths,
                 owner: str, log: Callable[[str], None],
                 mailboxes: Sequence[str] = ()) -> None:
        super().__init__(name="deskcli-mail-intake", folder="mail-intake", server_url=server_url,
                         database_url=database_url, token=token, paths=paths, owner=owner,
                         log=log)
        self.mailboxes = list(mailboxes)

    def run(self) -> None:
        from deskcli.intake.imap import connect
        from deskcli.services.desk import open_desk
        from deskcli.services.mail import MailFetcher, for_desk
        from deskcli.sync.client import SyncClient
        from deskcli.sync.credentials import Credentials

        self.wait_for_server()
        desk = open_desk(self.paths, actor=HANDLE)
        client = SyncClient(desk, Credentials(self.server_url, self.token, "server"))
        settings = desk.config.intake

        def push_first() -> None:
            client.sync()

        fetcher = MailFetcher(for_desk(desk), connect, on_line=self.log, owner=self.owner,
                              before_move=push_first)
        lease = max(settings.watch_interval * 3, timedelta(minutes=2))
        try:
            while not self.stopping.is_set():
                try:
                    self._round(desk, client, fetcher, lease)
                except Exception as error:  # one bad round must not end the fetching
                    self.log(f"mail intake: {type(error).__name__}: {error}")
                self.stopping.wait(settings.watch_interval.total_seconds())
        finally:
            client.close()
            desk.close()

    def _round(self, desk: object, client: object, fetcher: object, lease: timedelta) -> None:
        from deskcli.services.desk import Desk
        from deskcli.services.mail import MailFetcher
        from deskcli.sync.client import SyncClient

        assert isinstance(desk, Desk) and isinstance(client, SyncClient)
        assert isinstance(fetcher, MailFetcher)
        # Sync first: ticket numbers from this server before anything is opened, and a
        # process whose token no longer works (another serve process started and issued
        # a new one) stops renewing its claim, so the other one takes over.
        client.sync()
        if not claim(self.database_url, self.owner, lease):
            return  # another server process fetches
        for box in sorted(desk.config.intake.mailboxes.values(), key=lambda b: b.name):
            fetcher.fetch(box)
        client.sync()
        self.send_due(desk)


def start(*, server_url: str, database_url: str, paths: Paths,
          log: Callable[[str], None]) -> MailWorker | None:
    """Start the fetcher when the server's config has mailboxes; None when it has none."""
    from deskcli.config import load_config
    from deskcli.services.mail import this_process

    config = load_config(paths.config_file)
    if not config.intake.mailboxes:
        return None
    from deskcli.intake.imap import password_for

    for box in config.intake.mailboxes.values():
        password_for(box)  # a missing password stops `serve` with the variable named
    worker = MailWorker(server_url=server_url, database_url=database_url,
                        token=service_token(database_url), paths=paths,
                        owner=this_process(), log=log,
                        mailboxes=sorted(config.intake.mailboxes))
    worker.start()
    return worker

