"""The baseline app: bare Flask answering JSON, run under the same Gunicorn config behind the same
Nginx site as SequoAlpha (gunicorn --config deploy/gunicorn.conf.py --chdir tests/bench hello:app).
What the real app costs beyond this is the price of its own work."""

from flask import Flask

app = Flask(__name__)


@app.get("/api/hello")
def hello():
    return {"hello": "world"}
