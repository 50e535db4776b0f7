"""Opening a desk: the store, configuration, checklists and services, wired together.

Front ends call ``open_desk()`` and use what it returns; they never build a Store or read
the config themselves, so the CLI and the TUI always see the same settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from deskcli import checklists as checklist_files
from deskcli.clock import SystemClock, new_id, now_ms
from deskcli.config import Config, load_config
from deskcli.domain.checklist import Checklist
from deskcli.domain.outcomes import DeskChannels
from deskcli.domain.timefmt import to_iso
from deskcli.paths import Paths, resolve_paths
from deskcli.services.tickets import TicketService
from deskcli.storage.store import Store

if TYPE_CHECKING:  # the notification code loads only for a team that uses it
    from deskcli.services.outbound import OutboundPlanner


@dataclass
class Desk:
    paths: Paths
    config: Config
    checklists: Mapping[str, Checklist]
    store: Store
    tickets: TicketService
    now: Callable[[], datetime]
    #: The id factory every service of this desk stamps new rows with (handed to each
    #: service when it is built; injected by tests for reproducible ids).
    new_id: Callable[[], str]
    #: Queues pages, chat posts and caller email with ticket changes; None when the
    #: config has no ``[notify]`` channels in use.
    outbound: OutboundPlanner | None = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _team_handle(store: Store) -> str | None:
    """Once a store has joined a team server, its technician acts under their handle
    there: the server records every change under that name, so the laptop does too."""
    return store.meta("server_tech")


def open_desk(paths: Paths | None = None, *, now: Callable[[], datetime] | None = None,
              ids: Callable[[], str] = new_id, actor: str | None = None) -> Desk:
    """Open the technician's store, creating and upgrading it as needed."""
    paths = paths or resolve_paths()
    config = load_config(paths.config_file)
    checklists = checklist_files.load_all(paths.config_dir)
    templates = None
    if config.notify.enabled:  # checked before the store opens: a bad file opens nothing
        from deskcli.services.notify_templates import load_templates

        templates = load_templates(paths.config_dir, config.notify)
    clock = now or SystemClock().now
    store = Store.open(paths.database, ids=ids,
                       now_ms=(lambda: int(clock().timestamp() * 1000)) if now else now_ms,
                       now_iso=lambda: to_iso(clock()))
    service = TicketService(store, checklists=checklists, policy=config.sla,
                            actor=actor or _team_handle(store) or config.tech, now=clock,
                            new_id=ids,
                            default_checklist=checklist_files.DEFAULT_KEY,
                            attachment_max_bytes=config.attachment_max_bytes,
                            account_words=config.account_words,
                            channels=DeskChannels(email=config.notify.email,
                                                  pagers=tuple(config.notify.page)))
    planner = None
    if templates is not None:
        from deskcli.services.outbound import OutboundPlanner

        planner = OutboundPlanner(store, config.notify, templates, actor=service.actor,
                                  new_id=ids, checkpoint=config.checkpoint)
        service.on_change = planner.notice
    return Desk(paths, config, checklists, store, service, clock, ids, planner)
