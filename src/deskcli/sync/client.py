"""One sync round: push the outbox, pull everyone else's changes.

Order matters and each step is safe to interrupt:

1. Push unsent ops in batches. The server applies each op at most once, so a batch whose
   reply was lost is simply sent again. The reply's accepted and duplicate ids are marked
   sent in one local transaction.
2. Pull pages after the stored cursor. Each page and the new cursor are written in one
   local transaction, so an interrupted pull neither skips nor repeats a change.

If the server's epoch changed (it was restored from a backup, or reset), everything this
store ever sent is queued again and the pull starts from the beginning. Every push reply and
pull page names the epoch, so a round needs no request of its own to learn it: ``whoami``
is asked only when the store first meets a server, or when the server or token it syncs
with is not the one it last asked about (``identity_key``).

A server error (5xx) is retried with backoff. If a batch keeps failing, it is split until
the op that fails alone is found; that op waits in the outbox for the next sync and the
rest go out, so no single op holds up the queue. A pulled row this store cannot apply is
quarantined (see ``apply``) and the pull goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from deskcli.domain.errors import OperationFailed, Refused
from deskcli.domain.numbering import Authority, Lease, provisional_label
from deskcli.domain.timefmt import to_iso
from deskcli.storage.store import Store
from deskcli.sync.apply import ChangeApplier, TicketRules
from deskcli.sync.credentials import Credentials
from deskcli.sync.protocol import (
    DEFAULT_LEASE,
    LEASE_LOW_WATER,
    MAX_OPS_PER_PUSH,
    PROTOCOL_VERSION,
    PULL_PAGE,
)

if TYPE_CHECKING:
    import ssl
    from concurrent.futures import Future, ThreadPoolExecutor

    import httpx

PUSH_BATCH = MAX_OPS_PER_PUSH
#: Failed pushes one sync tolerates while it halves batches to find an op the server
#: fails on: enough to isolate a few such ops in a full batch, few enough that a server
#: that fails on everything is not asked thousands of times.
MAX_SERVER_ERRORS = 40


class SyncError(OperationFailed):
    """The round could not finish; local changes are kept and go out next time."""


class EpochChanged(SyncError):
    """A reply named another epoch than the store knows: the store has already queued its
    history again and reset its cursor; the round starts over (``SyncClient.sync`` does)."""


#: The meta key holding ``identity_key`` of the server and token last checked by whoami.
IDENTITY_META = "server_identity"


def identity_key(server: str, token: str) -> str:
    """A short fingerprint of (server, token): tells the store that the token or server
    changed since it last asked who it is, without keeping the token itself. Truncated
    SHA-256 of a 32-byte random token: nothing to learn from it."""
    import hashlib

    return hashlib.sha256(f"{server}\n{token}".encode()).hexdigest()[:24]


@dataclass
class SyncReport:
    server: str
    pushed: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    pulled: int = 0
    applied: int = 0
    conflicts: int = 0
    unsent: int = 0
    cursor: int = 0
    rebootstrapped: bool = False
    #: Pulled rows set aside because they could not be applied here (and rows that were
    #: held and have now applied).
    quarantined: int = 0
    released: int = 0
    #: Ops the server failed on (5xx) even alone: still queued, tried again next sync.
    deferred: list[str] = field(default_factory=list)
    lease: str | None = None
    #: Tickets that changes from other machines touched (for screens to refresh).
    changed_tickets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SyncDesk(Protocol):
    """The part of an open desk a sync round uses. Front ends pass their ``Desk``
    (``services.desk``); sync names only the shape, so it does not import the services
    layer and the two stay free of a cycle."""

    @property
    def store(self) -> Store: ...

    @property
    def tickets(self) -> TicketRules: ...

    @property
    def now(self) -> Callable[[], datetime]: ...


class SyncClient:
    #: Seconds to wait before each retry of a request the server failed (5xx).
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)

    def __init__(self, desk: SyncDesk, credentials: Credentials,
                 http: httpx.Client | None = None, timeout: float = 30.0) -> None:
        import httpx

        self.desk = desk
        self.store = desk.store
        self.credentials = credentials
        self._server_errors = 0
        #: (cursor it was asked from, page) that came with the last push's reply: the
        #: pull's first page, when the cursor has not moved since (``_pushed_page``).
        self._page_after_push: tuple[int, dict[str, Any]] | None = None
        self.http = http or httpx.Client(
            base_url=credentials.server, timeout=timeout, verify=_tls_for(credentials.server),
            headers={"Authorization": f"Bearer {credentials.token}",
                     "X-Deskcli-Protocol": str(PROTOCOL_VERSION)})

    def close(self) -> None:
        self.http.close()

    # --- HTTP ---------------------------------------------------------------------

    def _call(self, method: str, path: str, *, retry: bool = True,
              **kwargs: Any) -> httpx.Response:
        import httpx

        delays = list(self.retry_delays) if retry else []
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                raise SyncError(
                    f"cannot reach the team server at {self.credentials.server} "
                    f"({type(error).__name__}); changes stay queued and go out next time"
                ) from None
            if response.status_code < 500 or not delays:
                break
            time.sleep(delays.pop(0))  # the server's trouble may pass: back off, retry
        if response.status_code == 401:
            raise SyncError("the server did not accept the token: run deskcli login again "
                            "(or check DESKCLI_TOKEN)")
        return response

    @staticmethod
    def _detail(response: httpx.Response) -> str:
        try:
            return str(response.json().get("detail", response.text))
        except ValueError:
            return response.text[:200]

    # --- the round ------------------------------------------------------------------

    def presence(self, ticket_id: str, *, leave: bool = False) -> list[str]:
        """Tell the server this technician has the ticket open; hear who else has."""
        response = self._call("DELETE" if leave else "PUT", f"/v1/presence/{ticket_id}")
        if response.status_code != 200 or leave:
            return []
        return [str(name) for name in response.json().get("others", [])]

    def _identity(self) -> str:
        return identity_key(self.credentials.server, self.credentials.token)

    def _rebootstrap(self, epoch: str, report: SyncReport) -> None:
        """The server lost history (restored from backup or reset): resend and re-pull."""
        with self.store.transaction():
            self.store.sync.repend_acked()
            self.store.set_meta("sync_cursor", "0")
            self.store.set_meta("server_epoch", epoch)
            # Number blocks from the old history mean nothing to the restored server.
            self.store.sync.drop_leases(Authority.SERVER)
        report.rebootstrapped = True

    def _check_epoch(self, epoch: Any, report: SyncReport) -> None:
        """Raise ``EpochChanged`` (after queuing everything again) if a reply comes from
        another history than the one this store synced with."""
        known = self.store.meta("server_epoch")
        if isinstance(epoch, str) and known is not None and epoch != known:
            self._rebootstrap(epoch, report)
            raise EpochChanged("the team server's history changed (restored from a backup "
                               "or reset); this store queued its changes again: sync again")

    def whoami(self) -> dict[str, Any]:
        response = self._call("GET", "/v1/whoami")
        if response.status_code != 200:
            raise SyncError(f"server refused: {self._detail(response)}")
        data: dict[str, Any] = response.json()
        return data

    def join(self, handle: str) -> dict[str, Any]:
        """First contact with a server: adopt it as the numbering authority."""
        info = self.whoami()
        if self.store.meta("demo_tickets"):
            raise Refused("this store holds sample data, which never syncs; join the team "
                          "server from a fresh profile (set DESKCLI_HOME to a new folder)")
        at = to_iso(self.desk.now())
        with self.store.transaction():
            self.store.set_meta("server_url", self.credentials.server)
            self.store.set_meta("server_tech", handle)
            self.store.set_meta("server_epoch", info["epoch"])
            self.store.set_meta(IDENTITY_META, self._identity())
            self._hand_numbers_to_server(at)
            from deskcli.sync.scope import adopt_handle

            # The server writes authors from the token: unsent work says the same here.
            adopt_handle(self.store, info["handle"])
        return info

    def _hand_numbers_to_server(self, at: str) -> None:
        """Tickets numbered while standalone get provisional labels until the server
        numbers them, so no two machines ever show the same number."""
        local = [lease for lease in self.store.sync.leases() if lease.authority is Authority.LOCAL]
        if not local:
            return
        for row in self.store.tickets.numbered():
            if any(lease.start <= row["number"] < lease.end for lease in local):
                label = provisional_label(self.store.client_id[:4],
                                          self.store.sync.next_provisional_seq())
                changes = {"number": None, "provisional": label}
                self.store.sync.update_remote("tickets", row["id"], changes)
                self.store.sync.rewrite_pending_create("ticket", row["id"], changes)
        self.store.sync.drop_leases(Authority.LOCAL)

    def ensure_lease(self, report: SyncReport) -> None:
        server_leases = [lease for lease in self.store.sync.leases()
                         if lease.authority is Authority.SERVER]
        if sum(lease.remaining for lease in server_leases) >= LEASE_LOW_WATER:
            return
        response = self._call("POST", "/v1/leases", json={
            "client_id": self.store.client_id, "size": DEFAULT_LEASE})
        if response.status_code == 429:
            # This store holds enough unused numbers, or asked too often: new tickets take
            # provisional labels until the next block; the rest of the sync goes on.
            return
        if response.status_code != 200:
            raise SyncError(f"could not get ticket numbers: {self._detail(response)}")
        block = response.json()
        with self.store.transaction():
            self.store.sync.save_lease(Lease(block["start"], block["end"], block["start"],
                                        Authority.SERVER), to_iso(self.desk.now()))
        report.lease = f"{block['start']}-{block['end'] - 1}"

    def push(self, report: SyncReport) -> None:
        deferred: set[str] = set()
        self._server_errors = 0
        self._page_after_push = None
        while True:
            batch = [op for op in self.store.sync.pending_ops(PUSH_BATCH + len(deferred))
                     if op["op_id"] not in deferred][:PUSH_BATCH]
            if not batch:
                report.deferred = sorted(deferred)
                return
            self._push_batch(batch, report, deferred)

    def _push_batch(self, batch: list[dict[str, Any]], report: SyncReport,
                    deferred: set[str], *, retry: bool = True) -> None:
        """Send one batch; on a lasting server error, halve it to find the op at fault."""
        ops = [{"op_id": op["op_id"], "entity": op["entity"], "entity_id": op["entity_id"],
                "kind": op["kind"], "field": op["field"],
                "value": _decode(op["value"]), "hlc": op["hlc"],
                "base_seq": op["base_seq"]} for op in batch]
        # ``since``: the server answers with the first pull page too, read after the push
        # committed, which saves the round its pull request (a server that predates it
        # ignores the parameter, and the pull asks as before).
        since = int(self.store.meta("sync_cursor") or 0)
        self._page_after_push = None
        response = self._call("POST", "/v1/push", retry=retry, params={"since": since}, json={
            "protocol": PROTOCOL_VERSION, "client_id": self.store.client_id, "ops": ops})
        if response.status_code >= 500:
            self._server_errors += 1
            if self._server_errors > MAX_SERVER_ERRORS:
                # Not one bad op: the server fails on everything. Stop; nothing is lost.
                raise SyncError(f"the team server keeps failing ({response.status_code}); "
                                "changes stay queued and go out next time")
            if len(batch) == 1:
                deferred.add(batch[0]["op_id"])
                return
            half = len(batch) // 2
            # Retried already as a whole: the halves are tried once each.
            self._push_batch(batch[:half], report, deferred, retry=False)
            self._push_batch(batch[half:], report, deferred, retry=False)
            return
        if response.status_code in (403, 422) and _json(response).get("op_ids"):
            # Set the named ops aside for the technician; the rest go in the next batch.
            body = _json(response)
            detail = self._detail(response)
            reasons = {str(p.get("op_id")): str(p.get("message"))
                       for p in body.get("problems") or [] if isinstance(p, dict)}
            at = to_iso(self.desk.now())
            with self.store.transaction():
                for op_id in body["op_ids"]:
                    self.store.sync.mark_rejected(op_id, reasons.get(op_id, detail), at)
            report.rejected.extend({"op_id": i, "reason": reasons.get(i, detail)}
                                   for i in body["op_ids"])
            return
        if response.status_code != 200:
            raise SyncError(f"the server refused the push ({response.status_code}): "
                            f"{self._detail(response)}")
        body = response.json()
        try:
            self._check_epoch(body.get("epoch"), report)
        finally:
            # Applied by the server that answered, whatever its history: acked either way
            # (after a rebootstrap they are simply sent again, and found to be duplicates).
            with self.store.transaction():
                self.store.sync.mark_acked(body["accepted"] + body["duplicates"],
                                           body["server_seq"])
        report.pushed += len(body["accepted"])
        report.duplicates += len(body["duplicates"])
        page = body.get("changes")
        if isinstance(page, dict):
            self._page_after_push = (since, page)

    def _pushed_page(self, cursor: int) -> dict[str, Any] | None:
        """The page the last push reply carried, if it was asked from ``cursor`` (taken
        once: a later pull asks the server)."""
        held, self._page_after_push = self._page_after_push, None
        if held is not None and held[0] == cursor:
            return held[1]
        return None

    def _page(self, since: int) -> dict[str, Any]:
        response = self._call("GET", "/v1/changes", params={"since": since, "limit": PULL_PAGE})
        if response.status_code != 200:
            raise SyncError(f"the server refused the pull: {self._detail(response)}")
        page: dict[str, Any] = response.json()
        return page

    def pull(self, report: SyncReport) -> None:
        applier = ChangeApplier(self.store, self.desk.tickets)
        cursor = int(self.store.meta("sync_cursor") or 0)
        if self.store.sync.quarantined():
            with self.store.transaction():
                retried = applier.retry_quarantined(to_iso(self.desk.now()))
            report.released += retried.released
            report.changed_tickets.extend(sorted(retried.tickets))
        page = self._pushed_page(cursor) or self._page(cursor)
        self._check_epoch(page.get("epoch"), report)
        ahead: ThreadPoolExecutor | None = None
        try:
            while True:
                coming: Future[dict[str, Any]] | None = None
                if page["has_more"]:
                    # Ask for the next page while this one is applied, so the server and
                    # this store work at the same time. The cursor still moves only with
                    # the page it follows, in that page's transaction: a failed or
                    # interrupted fetch leaves it where the last applied page put it.
                    if ahead is None:
                        from concurrent.futures import ThreadPoolExecutor

                        ahead = ThreadPoolExecutor(max_workers=1,
                                                   thread_name_prefix="deskcli-pull")
                    coming = ahead.submit(self._page, int(page["next"]))
                with self.store.transaction():
                    stats = applier.apply(page["changes"], server_ms=page.get("server_ms"),
                                          at=to_iso(self.desk.now()))
                    cursor = int(page["next"])
                    self.store.set_meta("sync_cursor", str(cursor))
                    self.store.set_meta("last_sync_at", to_iso(self.desk.now()))
                report.pulled += len(page["changes"])
                report.applied += stats.applied
                report.changed_tickets.extend(
                    sorted(stats.tickets - set(report.changed_tickets)))
                report.conflicts += stats.conflicts
                report.quarantined += stats.quarantined
                if coming is None:
                    break
                page = coming.result()
                self._check_epoch(page.get("epoch"), report)
        finally:
            if ahead is not None:
                ahead.shutdown(wait=True, cancel_futures=True)
        report.cursor = cursor

    def sync(self) -> SyncReport:
        report = SyncReport(server=self.credentials.server)
        known_epoch = self.store.meta("server_epoch")
        if known_epoch is None or self.store.meta(IDENTITY_META) != self._identity():
            # First contact, or another token or server than last time: ask who we are.
            # Otherwise the replies below name the epoch, and a revoked or replaced token
            # is refused (401) by the first of them.
            info = self.whoami()
            if known_epoch is None:
                self.join(self.store.meta("server_tech") or info["handle"])
            else:
                if known_epoch != info["epoch"]:
                    self._rebootstrap(info["epoch"], report)
                with self.store.transaction():
                    self.store.set_meta(IDENTITY_META, self._identity())
        try:
            self._round(report)
        except EpochChanged:
            self._round(report)  # everything queued again, cursor at 0: once more
        report.unsent = self.store.sync.outbox_count()
        return report

    def _round(self, report: SyncReport) -> None:
        self.ensure_lease(report)
        self.push(report)
        self.pull(report)


def _tls_for(server: str) -> ssl.SSLContext | bool:
    """What the HTTP client verifies servers with. For an ``https`` server, httpx's default
    (the CA bundle, checked in full). For a plain ``http`` server (loopback, a LAN) no
    certificate is ever checked (redirects are not followed and every request goes to
    that server), so the bundle is not loaded: loading it cost ~25 ms of CPU per client,
    more than a whole small sync round. The context given instead trusts no one: anything
    that ever did ask it to verify a certificate would fail, never pass."""
    from urllib.parse import urlsplit

    if urlsplit(server).scheme.lower() != "http":
        return True
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _decode(text: str | None) -> Any:
    import json

    return None if text is None else json.loads(text)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
