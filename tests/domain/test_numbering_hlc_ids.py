"""Ticket numbers, references, hybrid logical clocks and UUIDv7 ids."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskcli.domain import hlc
from deskcli.domain.errors import InvalidInput
from deskcli.domain.ids import _NAMESPACE, stable_id, uuid7
from deskcli.domain.numbering import (
    FIRST_NUMBER,
    Authority,
    Lease,
    next_local_block,
    parse_ref,
    take_number,
)


def test_standalone_blocks_start_at_1001_and_never_overlap() -> None:
    first = next_local_block([])
    assert first.start == FIRST_NUMBER
    second = next_local_block([first])
    assert second.start == first.end


def test_local_block_skips_numbers_used_without_a_lease() -> None:
    assert next_local_block([], 10, highest_used=4520).start == 4521
    assert next_local_block([Lease(1001, 2001, 2001, Authority.LOCAL)], 10,
                            highest_used=1500).start == 2001


def test_take_number_uses_the_oldest_lease_first() -> None:
    leases = [Lease(5000, 5002, 5001, Authority.SERVER), Lease(2000, 2010, 2009, Authority.SERVER)]
    number, lease = take_number(leases)  # type: ignore[misc]
    assert number == 2009 and lease.next == 2010


def test_exhausted_leases_give_nothing() -> None:
    assert take_number([Lease(10, 12, 12, Authority.SERVER)]) is None


@given(st.lists(st.integers(1, 50), min_size=1, max_size=10))
def test_numbers_from_leases_are_unique(sizes: list[int]) -> None:
    leases: list[Lease] = []
    for size in sizes:
        leases.append(next_local_block(leases, size))
    seen = set()
    while (taken := take_number(leases)) is not None:
        number, updated = taken
        assert number not in seen
        seen.add(number)
        leases = [updated if lease.start == updated.start else lease for lease in leases]
    assert len(seen) == sum(sizes)


@pytest.mark.parametrize(("text", "number"), [("4521", 4521), ("#4521", 4521), (" #7 ", 7)])
def test_refs_by_number(text: str, number: int) -> None:
    assert parse_ref(text).number == number


def test_refs_by_id_and_provisional_label() -> None:
    ident = "0194f0b2-1c2d-7e3f-8a9b-0c1d2e3f4a5b"
    assert parse_ref(ident.upper()).ticket_id == ident
    assert parse_ref("l-3f9a-2").provisional == "L-3f9a-2"


@pytest.mark.parametrize("text", ["", "abc", "#", "45 21", "#-3"])
def test_bad_refs_explain_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput, match="such as 4521 or #4521"):
        parse_ref(text)


def test_hlc_never_goes_backwards_when_the_wall_clock_does() -> None:
    a = hlc.tick(None, 1_000, "n1")
    b = hlc.tick(a, 500, "n1")  # clock stepped back
    c = hlc.tick(b, 500, "n1")
    assert a < b < c


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10_000), st.integers(0, 10_000)),
                max_size=50))
def test_hlc_is_monotonic_and_after_every_received_stamp(
    events: list[tuple[bool, int, int]],
) -> None:
    current: hlc.Hlc | None = None
    for is_receive, now_ms, remote_ms in events:
        if is_receive:
            remote = hlc.Hlc(remote_ms, 3, "zz")
            nxt = hlc.receive(current, remote, now_ms, "n1")
            assert (nxt.wall_ms, nxt.counter) > (remote.wall_ms, remote.counter)
        else:
            nxt = hlc.tick(current, now_ms, "n1")
        if current is not None:
            assert (nxt.wall_ms, nxt.counter) > (current.wall_ms, current.counter)
        assert hlc.Hlc.decode(nxt.encode()) == nxt
        if current is not None:
            assert nxt.encode() > current.encode()  # text order is stamp order
        current = nxt


def test_uuid7_is_a_valid_version_7_uuid_ordered_by_time() -> None:
    a = uuid7(1_000, bytes(10))
    b = uuid7(1_001, bytes(10))
    assert uuid.UUID(a).version == 7
    assert uuid.UUID(a).variant == uuid.RFC_4122
    assert a < b


def test_uuid7_matches_the_integer_layout_for_any_input() -> None:
    """``uuid7`` builds the string from hex digits; it must equal ``uuid.UUID`` of the
    RFC 9562 integer built from the same time and random bits."""
    import random

    rng = random.Random(7)
    for _ in range(2_000):
        ms = rng.getrandbits(rng.choice([20, 42, 48, 52]))
        rand = rng.getrandbits(80)
        value = ((ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | ((rand >> 68) & 0xFFF) << 64
                 | 0b10 << 62 | (rand & ((1 << 62) - 1)))
        assert uuid7(ms, rand.to_bytes(10, "big") + b"extra") == str(uuid.UUID(int=value))


@given(st.sampled_from(["client", "caller", "rule-firing"]), st.text(max_size=40))
def test_stable_id_is_the_uuid5_of_the_folded_key(kind: str, key: str) -> None:
    """``stable_id`` hashes without the ``uuid`` module (a bulk import mints one per new
    caller); every machine must still get the very id ``uuid.uuid5`` gives, as the ids
    already stored and synced were made that way."""
    try:
        expected = str(uuid.uuid5(uuid.UUID(_NAMESPACE), f"{kind}:{key.strip().casefold()}"))
    except UnicodeEncodeError:  # a lone surrogate: neither can hash it
        with pytest.raises(UnicodeEncodeError):
            stable_id(kind, key)
        return
    assert stable_id(kind, key) == expected


def test_the_system_id_source_mints_unique_version_7_ids_in_threads_and_forks() -> None:
    """``clock.new_id`` takes its random digits from a pool: threads must never share
    digits, and a forked child must not repeat its parent's next ids."""
    import os
    import threading

    from deskcli.clock import new_id

    minted: list[list[str]] = [[] for _ in range(4)]

    def mint(out: list[str]) -> None:
        out.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=mint, args=(out,)) for out in minted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for out in minted for i in out]
    assert len(set(ids)) == len(ids) == 20_000
    for text in ids[::97]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read)
        os.write(write, ",".join(new_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split(",")
    os.waitpid(child, 0)
    ours = [new_id() for _ in range(50)]
    assert len(theirs) == 50 and not set(theirs) & set(ours)


@given(st.one_of(
    st.text(max_size=90),
    st.builds(lambda w, c, n: f"{w:015d}-{c:06d}-{n}", st.integers(0, 10**15 - 1),
              st.integers(0, 10**6 - 1), st.from_regex(r"[A-Za-z0-9_.-]{1,64}",
                                                       fullmatch=True)),
    st.from_regex(r"[0-9٠-٩ +-]{15}-[0-9]{6}-[a-z\n]{1,3}", fullmatch=True),
    st.none(), st.integers()))
def test_a_stamps_wall_is_read_as_strictly_as_the_stamp(text: object) -> None:
    """``wall_of`` (a pull checks thousands of stamps) accepts exactly what ``parse``
    accepts, with the same wall time, and refuses the rest with parse's message."""
    try:
        want: int | str = hlc.parse(text).wall_ms
    except ValueError as error:
        want = str(error)
    try:
        got: int | str = hlc.wall_of(text)
    except ValueError as error:
        got = str(error)
    assert got == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=60), st.integers(1, 5))
def test_the_id_pool_stamps_each_id_with_the_clock_it_read(steps: list[int],
                                                             pool: int) -> None:
    """``clock._IdSource`` formats the time part once per millisecond and the random
    parts a pool at a time. Across millisecond boundaries, refills of the pool and a
    clock stepping back, every id is a version-7 UUID whose time field is the very
    millisecond read for it, and no id repeats; ids of a later millisecond sort after
    every id of an earlier one (within one millisecond the order is random, as before
    the pool)."""
    from unittest import mock

    from deskcli import clock as clock_module

    source = clock_module._IdSource()
    source._POOL_IDS = source._pool = pool  # refills every few ids
    ms = 1_795_564_800_000
    minted: list[tuple[int, str]] = []
    with mock.patch.object(clock_module.time, "time_ns") as time_ns:
        for step in steps:
            ms += step
            time_ns.return_value = ms * 1_000_000 + 999_999
            minted.append((ms, source()))
    ids = [made for _, made in minted]
    assert len(set(ids)) == len(ids)
    for at, made in minted:
        parsed = uuid.UUID(made)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, made)
        assert parsed.int >> 80 == at
    for (early, a), (late, b) in itertools.combinations(minted, 2):
        if early != late:
            assert (a < b) == (early < late)


def test_a_child_forked_while_another_thread_mints_an_id_can_mint_its_own() -> None:
    """A fork copies the id source's lock as it stands: taken, if another thread was
    minting at that moment. The child must start with a lock of its own (its pool is
    fresh anyway), or its first id waits for ever."""
    import os
    import select
    import signal

    from deskcli import clock as clock_module

    with clock_module._ids._lock:  # as a thread in the middle of minting holds it
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            os.close(read)
            os.write(write, clock_module.new_id().encode())
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 10)
        minted = os.read(read, 100).decode() if ready else ""
    finally:
        os.close(read)
        if not ready:
            os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert minted, "the forked child never minted its id (waiting on the copied lock)"
    assert uuid.UUID(minted).version == 7


def test_the_id_pool_starts_small_and_doubles_to_its_full_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A short command mints about ten ids: its first pool is small (issue 20), and a
    bulk import still reaches full 4,096-id pools, one ``os.urandom`` call each."""
    from deskcli import clock

    asked: list[int] = []
    real = os.urandom

    def counting(size: int) -> bytes:
        asked.append(size)
        return real(size)

    monkeypatch.setattr(clock.os, "urandom", counting)
    source = clock._IdSource()
    ids = [source() for _ in range(20_000)]
    assert [size // 10 for size in asked[:10]] == [16, 32, 64, 128, 256, 512, 1024, 2048,
                                                   4096, 4096]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids[::101])
    source.reset()  # a forked child starts small again, with fresh digits
    asked.clear()
    assert source() not in ids and [size // 10 for size in asked] == [16]
