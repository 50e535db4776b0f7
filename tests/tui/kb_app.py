"""The sample app with the sample KB articles added (the ticket seed is unchanged)."""

from __future__ import annotations

from pathlib import Path

from deskcli.app import DeskApp, build_app
from deskcli.services import demo_kb
from helpers import FakeClock, SeqIds
from tui.sample_app import sample_desk


def kb_app(root: Path, clock: FakeClock) -> DeskApp:
    desk = sample_desk(root, clock)
    demo_kb.seed_articles(desk.store, now=clock.now(), new_id=SeqIds())
    return build_app(desk, new_id=SeqIds(), tick=None, offer_samples=False)
