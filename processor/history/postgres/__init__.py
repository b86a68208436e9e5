"""The PostgreSQL history store: one ledger that a team's machines share (README "For a
team"). Needs the ``postgres`` extra (psycopg 3)."""

from processor.history.postgres.place import is_url, public_url

__all__ = ["is_url", "public_url"]
