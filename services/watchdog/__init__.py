"""`vigil watchdog`: notices when Vigil stops doing its work, and tells the on-call administrator directly.

Not a fifth service: it keeps no database and meets the services only through their HTTP endpoints and
the broker. `main.py` runs the rounds; `alarms.py` decides what to page (pure, unit-tested); `probes.py`
looks; `pager.py` sends.
"""
