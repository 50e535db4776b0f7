"""A caller's record belongs to one client (issue 14): a ticket's caller is always of the
ticket's client, so whoever may see the ticket may see its caller."""

from __future__ import annotations

from pathlib import Path

from deskcli.domain.intake import NewTicket
from helpers import make_desk


def test_same_address_at_two_clients_makes_two_callers(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    one = desk.tickets.create(NewTicket.from_mapping(
        {"summary": "a", "client": "Acme", "caller": "Sam", "email": "sam@example.com"}))
    two = desk.tickets.create(NewTicket.from_mapping(
        {"summary": "b", "client": "Other", "caller": "Sam", "email": "sam@example.com"}))
    again = desk.tickets.create(NewTicket.from_mapping(
        {"summary": "c", "client": "Acme", "email": "sam@example.com"}))
    assert one["caller_id"] != two["caller_id"]
    assert again["caller_id"] == one["caller_id"], "the same caller again, within a client"
    desk.close()


def test_moving_a_ticket_gives_it_a_caller_of_the_new_client(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    ticket = desk.tickets.create(NewTicket.from_mapping(
        {"summary": "misfiled", "client": "Acme", "caller": "Sam",
         "email": "sam@example.com", "phone": "555-0101"}))
    moved = desk.tickets.update(ticket["id"], {"client": "Other"})
    assert moved["caller_id"] != ticket["caller_id"]
    caller = desk.store.contacts.caller(moved["caller_id"])
    assert caller is not None
    assert (caller["name"], caller["email"], caller["phone"]) == ("Sam", "sam@example.com",
                                                                  "555-0101")
    assert caller["client_id"] == moved["client_id"]
    back = desk.tickets.update(ticket["id"], {"client": "Acme"})
    assert back["caller_id"] == ticket["caller_id"], "the original caller, found again"
    desk.close()
