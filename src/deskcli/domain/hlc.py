"""Hybrid logical clock stamps for sync ops.

Field-level last-writer-wins needs an order that respects causality even when laptop
clocks disagree by hours or step backwards. An HLC stamp is (wall milliseconds, counter,
node): it never goes backwards on one node, and after receiving a remote stamp a node's
next stamp is later than it. The encoded form sorts as text in stamp order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Hlc:
    wall_ms: int
    counter: int
    node: str

    def encode(self) -> str:
        return f"{self.wall_ms:015d}-{self.counter:06d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> Hlc:
        wall, counter, node = text.split("-", 2)
        return cls(int(wall), int(counter), node)


def tick(previous: Hlc | None, now_ms: int, node: str) -> Hlc:
    """A stamp for a local event."""
    if previous is None or now_ms > previous.wall_ms:
        return Hlc(now_ms, 0, node)
    return Hlc(previous.wall_ms, previous.counter + 1, node)


def receive(previous: Hlc | None, remote: Hlc, now_ms: int, node: str) -> Hlc:
    """A stamp for the moment a remote stamp is observed: later than both."""
    last_wall = previous.wall_ms if previous else -1
    wall = max(last_wall, remote.wall_ms, now_ms)
    if wall == last_wall == remote.wall_ms and previous is not None:
        counter = max(previous.counter, remote.counter) + 1
    elif wall == last_wall and previous is not None:
        counter = previous.counter + 1
    elif wall == remote.wall_ms:
        counter = remote.counter + 1
    else:
        counter = 0
    return Hlc(wall, counter, node)
