"""Hybrid logical clock stamps for sync ops.

Field-level last-writer-wins needs an order that respects causality even when laptop
clocks disagree by hours or step backwards. An HLC stamp is (wall milliseconds, counter,
node): it never goes backwards on one node, and after receiving a remote stamp a node's
next stamp is later than it. The encoded form sorts as text in stamp order.
"""

from typing import Any, NamedTuple

from deskcli.domain.patterns import lazy

#: How far ahead of this machine's clock a stamp from elsewhere may be before it is
#: treated as forged or broken: it is refused at the server and never moves a clock
#: further than this.
MAX_AHEAD_MS = 60 * 60 * 1000

_STAMP = lazy(r"([0-9]{15})-([0-9]{6})-([A-Za-z0-9_.-]{1,64})")


class Hlc(NamedTuple):
    wall_ms: int
    counter: int
    node: str

    def encode(self) -> str:
        return f"{self.wall_ms:015d}-{self.counter:06d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> "Hlc":
        wall, counter, node = text.split("-", 2)
        return cls(int(wall), int(counter), node)


def parse(text: Any) -> Hlc:
    """A stamp from outside, strictly: ASCII digits in fixed widths and a plain node name.

    ``decode`` would take Arabic-Indic digits, signs and spaces (``int()`` does), and such a
    stamp sorts as text above every honest one, winning every later conflict.
    """
    match = _STAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("the stamp must be 15 digits, '-', 6 digits, '-', and a node name "
                         "of 1-64 letters, digits, '_', '.' or '-'")
    return Hlc(int(match[1]), int(match[2]), match[3])


def wall_of(text: Any) -> int:
    """The wall milliseconds of a stamp from outside, checked exactly as ``parse``
    checks it, without building the stamp (a pull checks thousands)."""
    if isinstance(text, str) and _STAMP.fullmatch(text) is not None:
        return int(text[:15])
    return parse(text).wall_ms  # raises, with parse's own message


def bounded(stamp: Hlc | None, now_ms: int, max_ahead_ms: int = MAX_AHEAD_MS) -> Hlc | None:
    """``stamp``, or None when it is further ahead of ``now_ms`` than a clock may drift:
    a clock once pushed that far by a forged stamp starts again from the real time."""
    if stamp is not None and stamp.wall_ms > now_ms + max_ahead_ms:
        return None
    return stamp


def tick(previous: Hlc | None, now_ms: int, node: str) -> Hlc:
    """A stamp for a local event."""
    if previous is None or now_ms > previous.wall_ms:
        return Hlc(now_ms, 0, node)
    return Hlc(previous.wall_ms, previous.counter + 1, node)


def receive(previous: Hlc | None, remote: Hlc, now_ms: int, node: str,
            max_ahead_ms: int | None = None) -> Hlc:
    """A stamp for the moment a remote stamp is observed: later than both.

    With ``max_ahead_ms``, a remote stamp further ahead of ``now_ms`` than that is not
    followed: the clock stays within the bound, whatever a peer sends.
    """
    if max_ahead_ms is not None:
        previous = bounded(previous, now_ms, max_ahead_ms)
        if remote.wall_ms > now_ms + max_ahead_ms:
            return tick(previous, now_ms, node)
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
