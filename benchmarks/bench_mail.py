"""Email intake speed against a floor that only fetches and parses (issue 17).

Run:  python benchmarks/bench_mail.py [--messages 1000] [--runs 3]

Starts a throwaway Dovecot on 127.0.0.1 (the tests' fixture, tests/intake/dovecot.py;
needs the dovecot-imapd package) and, each run, delivers the same mix of messages into
its INBOX: 80 % new requests from a few hundred senders, 15 % replies threaded by
In-Reply-To to earlier ones, 5 % auto-replies. Then, alternating:

* floor: imapclient logs in, lists the INBOX and, one message at a time as the fetcher
  does, fetches ``BODY.PEEK[]`` and parses it with the ``email`` package (headers and the
  text body): the least any IMAP intake must do;
* intake: ``MailFetcher`` on a fresh store, exactly as ``deskcli mail fetch`` runs it:
  fetch, parse, trim, thread, write the ticket or note with its ledger row in one
  transaction (synchronous=FULL, so one fsync per message), move the message.

Reports messages per second and milliseconds per message for both, and the ratio.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from intake import corpus  # noqa: E402
from intake.dovecot import PASSWORD, SKIP_REASON, USER, Dovecot  # noqa: E402


def messages(count: int) -> list[bytes]:
    out: list[bytes] = []
    for n in range(count):
        sender = f"user{n % 300}@acme.example"
        if n % 20 == 19:
            out.append(corpus.out_of_office(message_id=f"<ooo{n}@acme.example>"))
        elif n % 7 == 6 and n > 10:
            parent = f"<bench{n - 5}@acme.example>"
            out.append(corpus.outlook_reply(parent, f"Problem {n - 5}",
                                            sender=f"user{(n - 5) % 300}@acme.example",
                                            message_id=f"<bench{n}@acme.example>"))
        else:
            out.append(corpus.plain(f"Problem {n}: printer on floor {n % 9} jams", sender,
                                    message_id=f"<bench{n}@acme.example>"))
    return out


def floor(server: Dovecot) -> tuple[float, int]:
    from imapclient import IMAPClient

    start = time.perf_counter()
    with IMAPClient("127.0.0.1", port=server.port, ssl=False) as client:
        client.login(USER, PASSWORD)
        client.select_folder("INBOX")
        uids = client.search("ALL")
        for uid in uids:
            client.fetch([uid], ["RFC822.SIZE"])
            raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            body = msg.get_body(("plain", "html"))
            _ = (msg["From"], msg["Subject"], msg["Message-ID"],
                 body.get_content() if body is not None else "")
    return time.perf_counter() - start, len(uids)


def intake(server: Dovecot, home: Path) -> tuple[float, int]:
    import os

    os.environ["DESKCLI_HOME"] = str(home)
    os.environ["DESKCLI_INTAKE_SUPPORT_PASSWORD"] = PASSWORD
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'tech = "bench"\n[intake]\nsender_limit = 10000\n[intake.mailboxes.support]\n'
        f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nusername = "{USER}"\n')
    from deskcli.intake.imap import connect
    from deskcli.services.desk import open_desk
    from deskcli.services.mail import MailFetcher, MailIntake

    with open_desk() as desk:
        box = desk.config.intake.mailboxes["support"]
        fetcher = MailFetcher(MailIntake(desk.tickets, desk.config.intake), connect)
        start = time.perf_counter()
        report = fetcher.fetch(box)
        elapsed = time.perf_counter() - start
        assert report.error is None, report.error
        return elapsed, report.handled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if SKIP_REASON:
        print(f"skipped: {SKIP_REASON}", file=sys.stderr)
        return 1
    mail = messages(args.messages)
    server = Dovecot().start()
    floors: list[float] = []
    ours: list[float] = []
    try:
        for run in range(args.runs):
            server.deliver(*mail)
            took, count = floor(server)
            assert count == args.messages, count
            floors.append(took)
            with tempfile.TemporaryDirectory(prefix="deskcli-bench-mail-") as home:
                took, count = intake(server, Path(home))
            assert count == args.messages, count
            ours.append(took)
            print(f"run {run + 1}: floor {floors[-1]:.2f} s, intake {ours[-1]:.2f} s",
                  file=sys.stderr)
    finally:
        server.cleanup()
    f, o = statistics.median(floors), statistics.median(ours)
    n = args.messages
    print(f"{n} messages, median of {args.runs} runs")
    print(f"floor (imapclient fetch + email parse): {n / f:7.1f} msg/s  {1000 * f / n:6.2f} "
          "ms/msg")
    print(f"deskcli mail fetch (ingest + move):     {n / o:7.1f} msg/s  {1000 * o / n:6.2f} "
          "ms/msg")
    print(f"ratio: {o / f:.2f}x the floor's time; {1000 * (o - f) / n:.2f} ms more per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
