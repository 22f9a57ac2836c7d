"""schemathesis against /openapi.json as an authenticated admin: no input makes the server fail (5xx)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.service.conftest import Server, make_site, serve

EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    site = make_site(tmp_path_factory.mktemp("fuzz"), max_bundle_bytes=256 * 1024)
    site.add_clip()
    with serve(site.app) as url:
        server = Server(url, site)
        with server.client("admin") as admin:
            token = admin.post("/api/me/tokens", json={"name": "fuzz"}).json()["token"]
        yield server, token


@pytest.mark.slow
def test_no_server_errors(fuzzed: tuple[Server, str]) -> None:
    """Every operation in the schema, each with generated valid and invalid inputs."""
    server, token = fuzzed
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operations.append(result.ok())
    assert len(operations) >= 30

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
