"""``QueueIds`` selects exactly the tickets the queue listing shows, filter for filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.enums import Status
from deskcli.services import demo
from deskcli.storage.queue_ids import QueueIds
from helpers import FakeClock, SeqIds, make_desk

EVERY = [s.value for s in Status]


@pytest.mark.parametrize("filters", [
    {}, {"statuses": EVERY}, {"priorities": ["P1", "P2"]}, {"assignee": "kai"},
    {"search": "vpn", "statuses": EVERY}, {"client": "Northwind Dental"},
    {"tags": ["outage"]}, {"tags": ["outage", "erp"], "statuses": EVERY},
    {"tags": ["nobody-has-this"]},
], ids=str)
def test_ids_and_count_match_the_listing(tmp_path: Path, filters: dict[str, Any]) -> None:
    clock = FakeClock()
    desk = make_desk(tmp_path, clock)
    demo.seed(desk.store, count=200, now=clock.now(), policy=desk.config.sla,
              new_id=SeqIds(), rng_seed=3, open_share=0.3)
    numbers = [row["number"] for row in desk.store.db.execute(
        "SELECT number FROM tickets ORDER BY number LIMIT 12")]
    for number in numbers[:8]:
        desk.tickets.tag(str(number), add=["outage"])
    for number in numbers[4:12]:
        desk.tickets.tag(str(number), add=["erp"])
    tags = filters.pop("tags", [])
    listed = {row[0] for row in desk.tickets.queue(tags=tags, **filters)}
    rooms = QueueIds(desk.store)
    assert set(rooms.ids(tags, **filters)) == listed
    assert rooms.count(tags, **filters) == len(listed)
    if tags == ["outage", "erp"]:
        assert len(listed) == 4, "every tag given, not any"
