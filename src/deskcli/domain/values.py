"""An immutable value class without ``dataclasses``.

Every short command (``deskcli queue``, ``new``, ``note``, ``show``) builds the settings,
the SLA policy and the checklist model, and a frozen dataclass costs its module about
0.3-0.5 ms at import (six generated methods, each compiled from source) on top of
loading ``dataclasses`` itself, which pulls in ``inspect``, ``ast``, ``dis`` and
``tokenize`` (about 5 ms): together more than a third of such a command's run (issue 20,
benchmarks/bench_cli.py). Plain records became ``NamedTuple``s; the few that need an
instance ``__dict__`` (a ``cached_property``) or defaults built per instance derive from
``Value``, which gives them what the frozen dataclass gave: comparison and hashing by
their fields, a ``repr`` naming them, and no assignment after ``__init__``.

May import: nothing (the domain's own base).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Value:
    """Compared, hashed and shown by the fields in ``_fields``; immutable once built.

    A subclass lists its fields in ``_fields`` (in the order the dataclass declared
    them), sets them in ``__init__`` with ``_set``, and names the fields ``repr`` leaves
    out in ``_hidden`` (what ``field(repr=False)`` did). ``functools.cached_property``
    still works: it writes to the instance ``__dict__`` directly.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()

    def _set(self, **values: Any) -> None:
        """Store the fields (only ``__init__`` calls this)."""
        self.__dict__.update(values)

    def _values(self) -> tuple[Any, ...]:
        return _values_of(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Value)
        return _values_of(self) == _values_of(other)

    def __hash__(self) -> int:
        # As a frozen dataclass: unhashable exactly when a field is (a dict of targets).
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields
                          if name not in self._hidden)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: "
                             f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: "
                             f"{type(self).__name__} is immutable")


def _values_of(value: Value) -> tuple[Any, ...]:
    """The fields of ``value`` in declaration order (what it is compared and hashed by)."""
    return tuple(value.__dict__[name] for name in value._fields)
