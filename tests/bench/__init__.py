"""SequoAlpha benchmarks (issue 7): the production stack on loopback, driven by wrk, reported as
ratios against baselines measured in the same run.

    ./manage.sh bench            the full run (10,000 documents, a few minutes)
    ./manage.sh bench --smoke    a tiny data set, about a second per figure (CI runs this)
    python -m tests.bench --help

Not collected by pytest (see conftest.py here); tests/bench_smoke/ runs the smoke mode in CI.
"""
