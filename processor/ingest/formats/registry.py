"""The registry of built-in formats: a new format is one module that calls ``register``."""

from __future__ import annotations

from processor.ingest.formats.base import Format

_FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add a built-in format (names compare without case)."""
    _FORMATS[fmt.name.casefold()] = fmt
    return fmt


def get(name: str) -> Format | None:
    """The built-in format of that name, or None."""
    _load()
    return _FORMATS.get(name.strip().casefold())


def names() -> list[str]:
    _load()
    return [f.name for f in _FORMATS.values()]


def all_formats() -> list[Format]:
    _load()
    return list(_FORMATS.values())


def _load() -> None:
    # importing the modules registers them; done lazily to avoid import cycles
    from processor.ingest.formats import (  # noqa: F401
        asterisk,
        avaya,
        cups,
        freeswitch,
        generic_csv,
        papercut,
        threecx,
    )
