"""Global ticket and record ids any machine can mint offline: UUIDv7.

UUIDv7 puts a millisecond timestamp in the high bits, so ids created later sort later
and B-tree inserts stay append-mostly. Time and randomness are arguments so that tests
get exact, repeatable ids.
"""

from __future__ import annotations


def uuid7(unix_ms: int, random_bytes: bytes) -> str:
    if len(random_bytes) < 10:
        raise ValueError("uuid7 needs 10 random bytes")
    return uuid7_hex(ms_hex(unix_ms), random_bytes[:10].hex())


def ms_hex(unix_ms: int) -> str:
    """The 48-bit millisecond field of a UUIDv7, as 12 hex digits."""
    return f"{unix_ms & 0xFFFFFFFFFFFF:012x}"


#: The variant digit (binary 10xx) for each hex digit of random input: its low two bits.
_VARIANT = {f"{d:x}": "89ab"[d & 3] for d in range(16)}


def uuid7_hex(time_hex: str, random_hex: str) -> str:
    """A UUIDv7 from ``ms_hex`` and 20 hex digits of randomness: the version digit 7,
    then the top 12 random bits, the variant with the low 62 bits, the RFC 9562 layout.

    What ``str(uuid.UUID(int=...))`` gives for that value, built from strings rather than
    a 128-bit integer: a bulk import mints four or five ids per ticket, and this is about
    half the cost."""
    return uuid7_head(time_hex) + uuid7_tail(random_hex)


def uuid7_head(time_hex: str) -> str:
    """The first 14 characters of ``uuid7_hex`` (its time field and dashes): the same for
    every id of a millisecond, so an id source formats it once per millisecond."""
    return f"{time_hex[:8]}-{time_hex[8:]}-"


def uuid7_tail(random_hex: str) -> str:
    """The last 22 characters of ``uuid7_hex`` (version, variant and random digits): they
    do not depend on the time, so an id source formats a pool of them ahead, in one
    comprehension, and a new id is one concatenation."""
    x = random_hex
    return f"7{x[:3]}-{_VARIANT[x[4]]}{x[5:8]}-{x[8:20]}"


#: The namespace of ``stable_id`` (a UUID), as the 16 bytes its hash starts from.
_NAMESPACE = "5b0e4d0a-8d1f-4c33-9a51-6f2f0c1e7d11"
_NAMESPACE_BYTES = bytes.fromhex(_NAMESPACE.replace("-", ""))


def stable_id(kind: str, key: str) -> str:
    """The same id on every machine for the same natural key (a client's name).

    Two technicians who add client "Acme" while offline must end up with one client, so
    its id comes from the name, not from a random source.

    ``str(uuid.uuid5(UUID(_NAMESPACE), f"{kind}:{key}"))`` (the key stripped and
    case-folded), computed from the SHA-1 digest directly: the ``uuid`` module builds
    two ``UUID`` objects per id, and a bulk import of new callers mints one per caller.
    """
    import hashlib

    name = f"{kind}:{key.strip().casefold()}".encode()
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
