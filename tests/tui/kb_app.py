"""The sample app with the sample KB articles added (the ticket seed is unchanged)."""

from __future__ import annotations

import itertools
from pathlib import Path

from deskcli.services import demo_kb
from deskcli.tui.app import DeskApp, build_app
from helpers import FakeClock, SeqIds
from tui.sample_app import sample_desk


def kb_app(root: Path, clock: FakeClock) -> DeskApp:
    desk = sample_desk(root, clock)
    # The article handles appear on screen: ids from a counter of their own keep them the
    # same whichever tests ran first.
    articles = SeqIds(start_ms=1_795_000_000_000, counter=itertools.count(1))
    demo_kb.seed_articles(desk.store, now=clock.now(), new_id=articles)
    return build_app(desk, new_id=SeqIds(), tick=None, offer_samples=False)
