"""Development tooling, apart from the product: load and benchmark commands, evaluations and
their labelled sets, the processes tests start, the test-run probe and the pytest plugin.

Installed only where it is present (hscjit/settings.py); the runtime image does not carry it.
"""
