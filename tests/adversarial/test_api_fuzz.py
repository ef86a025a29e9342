"""API fuzzing: schemathesis generates requests from /api/openapi.json (the app's own OpenAPI
document, loaded in-process) for every operation, schema-valid and schema-invalid, as an
anonymous caller, a client and an admin, on a portal seeded with users, groups, a category and
documents of every visibility.

Every answer must be free of server errors (no 5xx, no exception) and conform to the document:
a documented status code, content type, headers and body schema, a 401 without credentials, a
4xx for invalid input. Schema-valid requests may still be refused for reasons of state (an
unknown group id, a wrong current password): that check (positive_data_acceptance) is off.

The number of examples per operation is bounded to keep the run to about a minute on two
cores; SEQUOALPHA_FUZZ_SCALE=10 fuzzes ten times harder. The cases come from a fixed seed
(support.fuzz_settings); SEQUOALPHA_FUZZ_RANDOM=1 draws fresh ones.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from support import figures

from .support import bearer, fuzz_settings, seed_portal

pytestmark = pytest.mark.fuzz

# Examples per operation and generation mode (positive, negative), per role.
EXAMPLES = {"admin": 5, "client": 3, "anonymous": 2}
PUBLIC = {"GET /api/health", "POST /api/login"}  # fuzzed as hard as the admin routes
EXCLUDED_CHECKS = [positive_data_acceptance]


class StatusCounter:
    """WSGI middleware counting every request the fuzzer (and its checks) sent, by status. It
    also reads each answer to its end and closes it, as a WSGI server does: the fuzzer's own
    client leaves a streamed file (a local download) open otherwise."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.statuses: Counter = Counter()

    def __call__(self, environ, start_response):
        def counting_start_response(status, headers, exc_info=None):
            self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, counting_start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "client", "admin"])
def test_every_operation_as_every_role(app, client, make_user, role):
    portal = seed_portal(app, client, make_user)
    user_id = {"admin": portal.users["admin"], "client": portal.users["client1"], "anonymous": None}[role]
    counter = StatusCounter(app.wsgi_app)
    app.wsgi_app = counter
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: dict[tuple, str] = {}
    exceptions = 0

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, [op.label for op in operations]
    with figures.pause_password_capture():
        for operation in operations:
            examples = EXAMPLES["admin" if operation.label in PUBLIC else role]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _fuzz(operation, mode, examples, app, user_id, failures)
                except Unsatisfiable:
                    pass  # nothing to negate (an operation without parameters)
                except _AppException as exc:
                    exceptions += exc.count
    server_errors = exceptions + sum(n for status, n in counter.statuses.items() if status >= 500)
    violations = sum(1 for key in failures if key[2] != "ServerError")
    figures.add(
        "api_fuzz",
        requests=sum(counter.statuses.values()) + exceptions,
        server_errors=server_errors,
        schema_violations=violations,
    )
    assert not failures and server_errors == 0, "\n\n".join(failures.values())


class _AppException(Exception):
    def __init__(self, count: int):
        self.count = count


def _fuzz(operation, mode, examples, app, user_id, failures) -> None:
    """Run `examples` (scaled) generated cases of one operation; record failures instead of stopping."""
    raised = []

    @fuzz_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        headers = bearer(app, user_id)
        try:
            response = case.call(headers=headers)
        except Exception as exc:
            raised.append(exc)
            key = (operation.label, mode.value, "ServerError", type(exc).__name__)
            failures.setdefault(
                key,
                f"{operation.label} ({mode.value}): {type(exc).__name__}: {exc}\n"
                f"  {case.as_curl_command(headers=headers)}",
            )
            return
        try:
            case.validate_response(response, headers=headers, excluded_checks=EXCLUDED_CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = "ServerError" if isinstance(failure, ServerError) else type(failure).__name__
                key = (operation.label, mode.value, kind, failure.title)
                failures.setdefault(
                    key,
                    f"{operation.label} ({mode.value}): {failure.title}: "
                    f"{failure.message[:500]}\n  status {response.status_code}: "
                    f"{response.text[:300]}\n  {case.as_curl_command(headers=headers)}",
                )

    run()
    if raised:
        raise _AppException(len(raised))
