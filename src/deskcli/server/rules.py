"""The rules inside ``deskcli serve``: one authority for every technician's tickets.

The rules run as a technician account of their own (``rules``), with a store of its own
(``<data>/rules/deskcli.db``: the firing records, the outbound queue and the cursor of
changes already looked at), like the email intake (``server/intake.py``). Each round
syncs, runs the event rules for the changes that arrived (``services.rules.run_pulled``),
runs the time-based pass, and syncs again so the changes reach everyone; then it sends
what the rules queued (replies, chat posts).

One rules worker per ``serve`` process. Several processes on one database take turns: a
round first claims the rules in the server database under a lease (``srv_intake_claim``,
row ``rules``), so only one process runs rules at a time; a firing whose ``rule_fired``
event came back by sync from another process is never repeated (its id is the same).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session

from deskcli.paths import Paths
from deskcli.server.db import make_engine
from deskcli.server.service_accounts import ServiceWorker, claim_lease, issue_token

#: The account the rules sync as; it sees every client (rules are for all of them).
HANDLE = "rules"
CLAIM = "rules"
#: Seconds between rounds (``DESKCLI_RULES_INTERVAL`` overrides it).
DEFAULT_INTERVAL = 5.0


def interval() -> float:
    raw = os.environ.get("DESKCLI_RULES_INTERVAL", "")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        value = DEFAULT_INTERVAL
    return min(max(value, 0.2), 3600.0)


def service_token(database_url: str) -> str:
    """A fresh token for the rules account (``service_accounts.issue_token``)."""
    return issue_token(database_url, HANDLE, name="Rules", tier=2)


def claim(database_url: str, owner: str, lease: timedelta) -> bool:
    """Take (or keep) the rules for ``owner``; False when another server process holds
    it (``service_accounts.claim_lease``)."""
    return claim_lease(database_url, CLAIM, owner, lease)


def load_server_roster(database_url: str) -> object:
    """The technicians' groups and shifts from the server's records."""
    from deskcli.server.roster import load_roster

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return load_roster(session)
    finally:
        engine.dispose()


class RulesWorker(ServiceWorker):
    """Sync, run the rules, sync, send; every ``interval`` seconds."""

    def __init__(self, *, server_url: str, database_url: str, token: str, paths: Paths,
                 owner: str, log: Callable[[str], None]) -> None:
        super().__init__(name="deskcli-rules", folder="rules", server_url=server_url,
                         database_url=database_url, token=token, paths=paths, owner=owner,
                         log=log)
        self.every = interval()

    def run(self) -> None:
        from deskcli.services.desk import open_desk
        from deskcli.sync.client import SyncClient
        from deskcli.sync.credentials import Credentials

        self.wait_for_server()
        desk = open_desk(self.paths, actor=HANDLE, rules=False)
        client = SyncClient(desk, Credentials(self.server_url, self.token, "server"))
        lease = timedelta(seconds=self.every * 3 + 2)
        try:
            while not self.stopping.is_set():
                try:
                    self._round(desk, client, lease)
                except Exception as error:  # one bad round must not end the rules
                    self.log(f"rules: {type(error).__name__}: {error}")
                self.stopping.wait(self.every)
        finally:
            client.close()
            desk.close()

    def _round(self, desk: object, client: object, lease: timedelta) -> None:
        from deskcli.services.desk import Desk
        from deskcli.services.rules import build_runner, run_pulled, wire
        from deskcli.sync.client import SyncClient

        assert isinstance(desk, Desk) and isinstance(client, SyncClient)
        client.sync()  # first: a process whose token was replaced stops here
        if not claim(self.database_url, self.owner, lease):
            return  # another server process runs the rules
        if desk.rules is None:
            # The rules file, checked against the server's config and roster, loaded once
            # per process (restart serve after editing it).
            runner = build_runner(desk, actor=HANDLE,
                                  roster=load_server_roster(self.database_url))
            wire(desk, runner)
        assert desk.rules is not None
        first = desk.store.meta("rules_event_cursor") is None
        run_pulled(desk.rules, skip_actor=HANDLE)
        if first:
            # What the very first sync brought is history: the event rules start here.
            self.log("rules: ready (changes from now on set the event rules off)")
        desk.rules.run_schedule()
        client.sync()
        self.send_due(desk)


def start(*, server_url: str, database_url: str, paths: Paths,
          log: Callable[[str], None]) -> RulesWorker | None:
    """Start the rules worker when the server's config folder has a rules file (checked
    here, so a broken file stops ``serve`` with its problems named)."""
    from deskcli.services.mail import this_process
    from deskcli.services.rules import load_rules, rules_path

    path = rules_path(paths.config_dir)
    if not path.is_file():
        return None
    ruleset = load_rules(path)
    worker = RulesWorker(server_url=server_url, database_url=database_url,
                         token=service_token(database_url), paths=paths,
                         owner=this_process(), log=log)
    worker.start()
    log(f"rules: {len(ruleset.rules)} rule(s) from {path}")
    return worker
