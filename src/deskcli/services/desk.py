"""Opening a desk: the store, configuration, checklists and services, wired together.

Front ends call ``open_desk()`` and use what it returns; they never build a Store or read
the config themselves, so the CLI and the TUI always see the same settings.

What a command may not need is built on first use: the checklists are parsed, and the
ticket service (with the domain rules it imports) is created, only when something asks for
them. ``deskcli queue`` reads the store and the config and nothing else, so its start-up
stays a small multiple of a bare ``python -c "import sqlite3"`` (benchmarks/bench_cli.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskcli.clock import SystemClock, new_id, now_ms
from deskcli.config import Config, load_config
from deskcli.domain.timefmt import to_iso
from deskcli.paths import Paths, resolve_paths
from deskcli.storage.store import Store

if TYPE_CHECKING:  # the notification code loads only for a team that uses it
    from deskcli.domain.checklist import Checklist
    from deskcli.services.outbound import OutboundPlanner
    from deskcli.services.rules import RuleRunner
    from deskcli.services.tickets import TicketService


class LazyChecklists(Mapping[str, "Checklist"]):
    """The built-in and team checklists, read and checked the first time one is asked
    for. A broken team file is reported then, by the command that needs checklists."""

    def __init__(self, config_dir: Path | None, cache_dir: Path | None = None) -> None:
        self._config_dir = config_dir
        #: Where the decoded built-in checklists are kept (``checklists.builtin``).
        self._cache_dir = cache_dir
        self._loaded: dict[str, Checklist] | None = None
        #: The built-in keys, once it is known the team added no files (see
        #: ``__contains__``): asked once per record of ``new --from``, it must not list
        #: the folders again each time (two directory scans per record).
        self._keys: frozenset[str] | None = None

    def _all(self) -> dict[str, Checklist]:
        if self._loaded is None:
            from deskcli import checklists as checklist_files

            self._loaded = checklist_files.load_all(self._config_dir, self._cache_dir)
        return self._loaded

    def __getitem__(self, key: str) -> Checklist:
        return self._all()[key]

    def __contains__(self, key: object) -> bool:
        """Whether a checklist exists, without reading the built-in ones when the team
        has added none (``deskcli new`` asks only this)."""
        if self._keys is not None:
            return key in self._keys
        if self._loaded is None:
            from deskcli import checklists as checklist_files

            if not checklist_files.has_team_files(self._config_dir):
                self._keys = checklist_files.builtin_keys()
                return key in self._keys
        return key in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class Desk:
    """The technician's store with its settings and services; the ticket service is
    created on first use (see the module docstring)."""

    def __init__(self, paths: Paths, config: Config, checklists: Mapping[str, Checklist],
                 store: Store, now: Callable[[], datetime], *,
                 ids: Callable[[], str] = new_id, actor: str | None = None,
                 outbound: OutboundPlanner | None = None) -> None:
        self.paths = paths
        self.config = config
        self.checklists = checklists
        self.store = store
        self.now = now
        #: The id factory every service of this desk stamps new rows with (handed to each
        #: service when it is built; injected by tests for reproducible ids).
        self.new_id = ids
        #: Who the changes are recorded as (the team handle once joined, else the config's).
        self.actor = actor or config.tech
        #: Queues pages, chat posts and caller email with ticket changes; None when the
        #: config has no ``[notify]`` channels in use.
        self.outbound = outbound
        #: The rules in force on this store (``rules.toml``); None when there is no rules
        #: file, or when the store is joined to a team server (the server runs them).
        self.rules: RuleRunner | None = None
        self._tickets: TicketService | None = None

    @property
    def tickets(self) -> TicketService:
        if self._tickets is None:
            from deskcli.domain.outcomes import DeskChannels
            from deskcli.services.tickets import TicketService

            config = self.config
            # Without a [notify] section the channels are the defaults, and the notify
            # settings (templates and all) are not built just to say so.
            notify = config.notify_given
            channels = (DeskChannels() if notify is None else
                        DeskChannels(email=notify.email, pagers=tuple(notify.page)))
            service = TicketService(
                self.store, checklists=self.checklists, policy=config.sla,
                actor=self.actor, now=self.now, new_id=self.new_id,
                default_checklist=DEFAULT_CHECKLIST,
                attachment_max_bytes=config.attachment_max_bytes,
                account_words=config.account_words,
                channels=channels)
            if self.outbound is not None:
                service.on_change = self.outbound.notice
            self._tickets = service
        return self._tickets

    def queue(self, *, tags: Sequence[str] = (), **filters: Any) -> Iterator[tuple[Any, ...]]:
        """Queue rows, most urgent first (``TicketService.queue``): a listing needs neither
        the checklists nor the ticket service, so without a tag filter it builds neither."""
        if tags:
            return self.tickets.queue(tags=tags, **filters)
        return self.store.queue.rows(**filters)

    def tags_of_many(self, ticket_ids: Sequence[str]) -> dict[str, list[str]]:
        """Tags of many tickets (``TicketService.tags_of_many``), without the service."""
        from deskcli.storage.tags import Tags

        return Tags(self.store).of_tickets(ticket_ids)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: The checklist new tickets follow (``deskcli.checklists.DEFAULT_KEY``, repeated here so
#: opening a desk does not import the checklist parser; a test keeps the two equal).
DEFAULT_CHECKLIST = "tier1"


def _team_handle(store: Store) -> str | None:
    """Once a store has joined a team server, its technician acts under their handle
    there: the server records every change under that name, so the laptop does too."""
    return store.meta("server_tech")


def open_desk(paths: Paths | None = None, *, now: Callable[[], datetime] | None = None,
              ids: Callable[[], str] = new_id, actor: str | None = None,
              rules: bool = True) -> Desk:
    """Open the technician's store, creating and upgrading it as needed.

    ``rules=False`` leaves the rules file alone (``deskcli rules check`` reads it itself,
    to report every problem instead of refusing to open)."""
    paths = paths or resolve_paths()
    config = load_config(paths.config_file)
    templates = None
    if config.notify_enabled:  # checked before the store opens: a bad file opens nothing
        from deskcli.services.notify_templates import load_templates

        templates = load_templates(paths.config_dir, config.notify)
    clock = now or SystemClock().now
    store = Store.open(paths.database, ids=ids,
                       now_ms=(lambda: int(clock().timestamp() * 1000)) if now else now_ms,
                       now_iso=lambda: to_iso(clock()))
    actor = actor or _team_handle(store) or config.tech
    planner = None
    if templates is not None:
        from deskcli.services.outbound import OutboundPlanner

        planner = OutboundPlanner(store, config.notify, templates, actor=actor,
                                  new_id=ids, checkpoint=config.checkpoint)
    desk = Desk(paths, config, LazyChecklists(paths.config_dir, paths.data_dir), store,
                clock, ids=ids, actor=actor, outbound=planner)
    if rules and (paths.config_dir / "rules.toml").is_file() \
            and store.meta("server_url") is None:
        # Parsed only when the file exists, and the rules code imported only then, so a
        # desk without rules pays nothing for them.
        from deskcli.services.rules import attach_rules

        try:
            attach_rules(desk)
        except BaseException:
            store.close()
            raise
    return desk
