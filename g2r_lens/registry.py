"""One small generic registry: every extension point of g2r_lens is a decorated function.

Attribution methods, advantage estimators, reward modes, policy losses and word reducers are all
kept in a :class:`Registry`. A registry maps a name to an object (usually the decorated function)
and to the *capabilities* declared when it was registered, refuses a second registration under the
same name, and answers an unknown name with one line that lists the known ones::

    LOSSES = Registry("policy loss")

    @LOSSES.register("ppo_clip", needs_old_logp=True)
    def ppo_clip_loss(...): ...

    LOSSES.get("ppo_clip")                 # the function
    LOSSES.capabilities("ppo_clip")        # {"needs_old_logp": True}
    LOSSES.get("ppo")                      # UnknownNameError: unknown policy loss 'ppo'; known: ppo_clip

A registry is a read-only :class:`~collections.abc.Mapping` (``name in reg``, ``reg[name]``,
``sorted(reg)``), so code that used a plain dict keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from .errors import DuplicateNameError, G2RError, UnknownNameError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Named objects of one kind, each with the capabilities declared at registration.

    ``kind`` names what is registered, in the words of the error messages ("advantage estimator").
    ``unknown_error`` is the :class:`G2RError` subclass :meth:`get` raises for an unknown name.
    """

    def __init__(self, kind: str, unknown_error: type[G2RError] = UnknownNameError) -> None:
        if not (isinstance(unknown_error, type) and issubclass(unknown_error, G2RError)):
            raise TypeError("unknown_error must be a G2RError subclass")
        self.kind = kind
        self.unknown_error = unknown_error
        self._items: dict[str, T] = {}
        self._caps: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ registration

    def add(self, name: str, obj: T, **capabilities: Any) -> T:
        """Register ``obj`` under ``name``; a second registration of the same name is refused."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        self._caps[name] = dict(capabilities)
        return obj

    def register(self, name: str, **capabilities: Any) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` and return it unchanged."""

        def deco(obj: T) -> T:
            return self.add(name, obj, **capabilities)

        return deco

    def remove(self, name: str) -> None:
        """Unregister ``name`` (for tests that register a temporary object)."""
        self.get(name)
        del self._items[name], self._caps[name]

    # ------------------------------------------------------------------ lookup

    def get(self, name: str, default: Any = None) -> T:  # type: ignore[override]
        """The object registered as ``name``; an unknown name raises ``unknown_error``.

        ``default`` is accepted for :class:`Mapping` compatibility only and never returned: an
        unknown name is always an error.
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise self.unknown_error(
                f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or '(none)'}"
            ) from None

    def capabilities(self, name: str) -> Mapping[str, Any]:
        """The capabilities declared when ``name`` was registered (read-only)."""
        self.get(name)
        return MappingProxyType(self._caps[name])

    def names(self, **required: Any) -> list[str]:
        """Sorted registered names; with keyword arguments, only those whose capabilities match."""
        return sorted(n for n in self._items
                      if all(k in self._caps[n] and self._caps[n][k] == v for k, v in required.items()))

    # ------------------------------------------------------------------ Mapping

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"
