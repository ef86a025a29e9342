"""The adversarial suite: API fuzzing, upload fuzzing, object-level authorisation, log hygiene.

Registers tests/support/figures.py, which prints the figures at the end of the run and searches the
logs of the whole run for secrets.
"""

from support import figures


def pytest_configure(config):
    figures.register(config)
