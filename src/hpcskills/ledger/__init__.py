"""The ledger: a durable SQLite record of every submission the pack made, with state history.

It lives in the workspace state dir (`.hpcskills/ledger.sqlite3`), is safe under concurrent
script runs (WAL, busy timeout, short IMMEDIATE transactions) and is versioned by migrations.
"""

from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger, open_ledger

__all__ = ["Ledger", "Submission", "open_ledger"]
