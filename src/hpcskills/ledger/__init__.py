"""The ledger: a durable SQLite record of every submission the pack made, with state history.

It lives in the workspace state dir (`.hpcskills/ledger.sqlite3`), is safe under concurrent
script runs (WAL, busy timeout, short IMMEDIATE transactions) and is versioned by migrations.
`submit_once` is the one submit path of every platform.
"""

from hpcskills.ledger.once import Outcome, Sent, submit_once
from hpcskills.ledger.records import MissingJobId, Submission
from hpcskills.ledger.store import Ledger, open_ledger

__all__ = ["Ledger", "MissingJobId", "Outcome", "Sent", "Submission", "open_ledger", "submit_once"]
