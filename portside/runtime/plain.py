"""Value classes for the modules on ``portside run``'s path, in place of dataclasses.

``import dataclasses`` costs about 10 ms (it imports ``inspect``, and with it ``ast``, ``dis`` and ``tokenize``),
and each decorated class one more ``exec`` of generated code: together a tenth of a ``run --rm``, which is timed
against raw runc. A value class lists its fields in ``__slots__`` and writes its own typed ``__init__``; ``Plain``
adds what callers used from dataclasses: equality, a readable repr and ``replace``. Values are treated as
immutable by convention (``replace`` makes a changed copy).
"""

from __future__ import annotations


class Plain:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes):
        """A copy with ``changes`` applied, as ``dataclasses.replace``; an unknown field is a TypeError."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        for name in self.__slots__:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)
