"""A PostgreSQL history's place: its URL, and that URL as people and manifests see it.

Credentials come from the URL, the PG* environment variables or the password file
(~/.pgpass), as libpq takes them; the password is never printed or written: a manifest
records the server and database only.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_url(where: object) -> bool:
    """Whether ``--history`` (or CHARGES_HISTORY, or a manifest) names a PostgreSQL
    history rather than a file."""
    return isinstance(where, str) and where.strip().lower().startswith(SCHEMES)


def public_url(url: str) -> str:
    """The URL without its password (and without a password= parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        who, host = netloc.rsplit("@", 1)
        netloc = f"{who.split(':', 1)[0]}@{host}"
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.lower().startswith("password=")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
