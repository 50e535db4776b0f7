"""The team server's roster: technicians' groups and shifts, kept in ``srv_tech_roster``.

``deskcli server tech add/set`` writes it; ``load_roster`` builds the ``Roster`` the
server's rule runner assigns from (revoked technicians are left out: they no longer
work the desk).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlmodel import Session, select

from deskcli.domain.calendar import BusinessCalendar, parse_calendar
from deskcli.domain.errors import InvalidInput, NotFound
from deskcli.domain.roster import Roster, Technician, parse_groups
from deskcli.server.models import SrvTech, SrvTechRoster


def set_roster(session: Session, handle: str, *, groups: Iterable[str] | None = None,
               shift: BusinessCalendar | None = None, clear_shift: bool = False
               ) -> SrvTechRoster:
    """Record a technician's groups and/or shift; what is not given stays as it was
    (``clear_shift``: no shift any more, always available)."""
    if session.get(SrvTech, handle) is None:
        raise NotFound(f"no technician {handle!r} on this server (add them with "
                       "'deskcli server tech add')")
    row = session.get(SrvTechRoster, handle) or SrvTechRoster(handle=handle)
    if groups is not None:
        row.groups = json.dumps(sorted(parse_groups(list(groups), "--group")))
    if clear_shift:
        row.shift = None
    elif shift is not None:
        row.shift = json.dumps(shift.to_mapping(), sort_keys=True)
    session.add(row)
    return row


def technician_of(handle: str, row: SrvTechRoster | None) -> Technician:
    """A roster row as the domain's ``Technician`` (no row: no groups, no shift)."""
    if row is None:
        return Technician(handle)
    try:
        groups = parse_groups(json.loads(row.groups or "[]"), f"{handle}.groups")
        shift = (parse_calendar(json.loads(row.shift), f"{handle}.shift")
                 if row.shift else None)
    except (ValueError, InvalidInput) as error:
        raise InvalidInput(f"technician {handle!r} has an unusable roster record ({error}); "
                           "fix it with 'deskcli server tech set'") from None
    return Technician(handle, groups, shift)


def load_roster(session: Session) -> Roster:
    """Every active technician with their groups and shift, for the rule runner."""
    techs = session.exec(select(SrvTech.handle).where(SrvTech.revoked == False)).all()  # noqa: E712
    rows = {r.handle: r for r in session.exec(select(SrvTechRoster)).all()}
    return Roster(tuple(technician_of(h, rows.get(h)) for h in techs))
