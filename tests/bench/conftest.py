"""tests/bench/ is a benchmark program (python -m tests.bench), not a test module: pytest must never
collect or import anything in here, whatever the file names."""

collect_ignore_glob = ["*"]
