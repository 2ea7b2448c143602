"""Local simulators of the private platform APIs, for the demo and the tests.

Run one with ``python -m hpcskills.sim NAME --port 0``; it prints its base URL as the first
stdout line. In Python, e.g. ``hpcskills.sim.sjtu.SjtuSimulator(...).start()``.
"""
