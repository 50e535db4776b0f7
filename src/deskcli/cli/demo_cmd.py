"""``deskcli demo`` (sample data to try deskcli and to benchmark it) and
``deskcli client-tier`` (a client's contract tier, which sets its SLA targets)."""

from __future__ import annotations

from typing import Annotated

import typer

from deskcli.clock import new_id
from deskcli.domain.errors import InvalidInput
from deskcli.services import demo as demo_data
from deskcli.services import demo_kb

from .exits import say
from .session import open_cli_desk


def demo(
    tickets: Annotated[int, typer.Option("--tickets", "-n", metavar="N",
                                         help="How many sample tickets to create.")] = 1000,
    open_share: Annotated[float | None, typer.Option(
        "--open-share", hidden=True, help="Share of the tickets left open (0 to 1), for "
        "stress tests; by default a few hundred are open.")] = None,
) -> None:
    """Fill the store with sample tickets.

    Creates realistic tickets with timelines, callers and clients.

    Sample data is never synced to a team server. Try it in a scratch profile by pointing
    DESKCLI_HOME at an empty folder.

    Examples:

    \b
      DESKCLI_HOME=/tmp/desk-demo deskcli demo --tickets 5000
      DESKCLI_HOME=/tmp/desk-demo deskcli queue
    """
    if tickets < 1:
        raise InvalidInput(f"--tickets must be at least 1, got {tickets}", field="tickets")
    if open_share is not None and not 0 <= open_share <= 1:
        raise InvalidInput(f"--open-share must be between 0 and 1, got {open_share}",
                           field="open_share")
    with open_cli_desk() as desk:
        # Ordered ids: every id index grows at its end instead of taking a million
        # inserts at random places (see demo.fast_ids).
        result = demo_data.seed(desk.store, count=tickets, now=desk.now(),
                                policy=desk.config.sla, new_id=demo_data.fast_ids(),
                                open_share=open_share)
        articles = demo_kb.seed_articles(desk.store, now=desk.now(), new_id=new_id)
        where = desk.paths.database
    kb_note = (f"{articles} sample KB articles" if articles
               else "no KB articles (the sample articles were already loaded)")
    say(f"created {result.tickets} sample tickets, #{result.first_number} to "
        f"#{result.last_number}, and {kb_note}, in {where}")


def client_tier(
    name: Annotated[str, typer.Argument(metavar="NAME", show_default=False,
                                        help="Client / organisation name.")],
    tier: Annotated[str, typer.Argument(metavar="TIER", show_default=False,
                                        help="Contract tier, e.g. premium, standard or "
                                        "basic.")],
) -> None:
    """Set a client's contract tier.

    The tier sets the SLA targets of the client's new tickets.

    Examples:

    \b
      deskcli client-tier "Meridian Clinic" premium
    """
    with open_cli_desk() as desk:
        client = desk.tickets.set_client_tier(name, tier)
    say(f"{client['name']}: contract tier {client['contract_tier']}")
