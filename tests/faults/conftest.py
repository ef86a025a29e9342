"""The fault suite: each test owns a throwaway PostgreSQL cluster and the processes it starts
(tests/stack.py). Registers tests/figures.py (the end-of-run figures and the log scan)."""
import figures


def pytest_configure(config):
    figures.register(config)
