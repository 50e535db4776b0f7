"""Global ticket and record ids any machine can mint offline: UUIDv7.

UUIDv7 puts a millisecond timestamp in the high bits, so ids created later sort later
and B-tree inserts stay append-mostly. Time and randomness are arguments so that tests
get exact, repeatable ids.
"""

from __future__ import annotations


def uuid7(unix_ms: int, random_bytes: bytes) -> str:
    if len(random_bytes) < 10:
        raise ValueError("uuid7 needs 10 random bytes")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    rand = int.from_bytes(random_bytes[:10], "big")
    rand_a = (rand >> 68) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value |= 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    # What str(uuid.UUID(int=value)) gives, without building the object (bulk imports
    # mint several ids per ticket).
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: The namespace of ``stable_id`` (a UUID; the ``uuid`` module loads on first use, since
#: a command that names no new client never needs it).
_NAMESPACE = "5b0e4d0a-8d1f-4c33-9a51-6f2f0c1e7d11"


def stable_id(kind: str, key: str) -> str:
    """The same id on every machine for the same natural key (a client's name).

    Two technicians who add client "Acme" while offline must end up with one client, so
    its id comes from the name, not from a random source.
    """
    import uuid

    return str(uuid.uuid5(uuid.UUID(_NAMESPACE), f"{kind}:{key.strip().casefold()}"))
