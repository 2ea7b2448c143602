"""Detached worker behind `req_certificate.py --no-wait`: waits for 2FA, stores the result.

Usage (internal): python -m hpcskills.sjtu.cert_worker WORKSPACE REQUEST_ID
"""

from __future__ import annotations

import sys

from hpcskills.core.cli import log
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.certificates import run_background_request


def main(argv: list[str]) -> int:
    run_background_request(Workspace.resolve(argv[0]), argv[1], log)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
