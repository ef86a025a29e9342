"""What the test suites share, by kind: `app` (the app fixtures), `api` (config and sign-in),
`documents` (PDFs and uploads), the processes a test can own by service (`postgres`,
`gunicorn`, `nginx`, `s3`) on top of `common` (paths, free ports, waiting), and `figures` (the
reliability figures and the log scan of the adversarial and fault suites).

tests/conftest.py loads the fixture modules (`app`, `s3`) through `pytest_plugins`; everything
else is imported by name (`from support.documents import make_pdf`). tests/bench imports the
process helpers too, without backend/ on sys.path: only the fixtures import `sequoalpha`, lazily.
"""
