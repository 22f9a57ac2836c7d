"""Password guessing is slowed per address and per username-and-address, with growing pauses,
and never locks a known user out; every failure stays in the audit. The site trusts
127.0.0.1 as its proxy, so each test client speaks from the address it forwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from monitor.service.accounts import RateLimit, add_user
from tests.service.conftest import Server, login, make_site, serve

LIMIT = RateLimit(failures=3, address_failures=6, first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=4))


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("throttle"), rate_limit=LIMIT,
                     config={"server": {"trusted_proxies": ["127.0.0.1/32"]}})
    with serve(site.app) as url:
        yield Server(url, site)


def _from(server: Server, address: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-Forwarded-For": address}, timeout=30)


def _audit(server: Server, username: str) -> list[tuple[str, str]]:
    with server.client("admin") as admin:
        rows = admin.get("/api/audit/logins", params={"username": username, "limit": 100}).json()
    return [(row["remote"], row["reason"]) for row in reversed(rows)]


def test_a_guesser_cannot_lock_out_a_known_user(behind_proxy: Server) -> None:
    with behind_proxy.site.runtime.sessions.begin() as session:
        add_user(session, "principal", "admin", "principal-pass-8080")
    attacker = "198.51.100.1"
    with _from(behind_proxy, attacker) as guesser:
        assert [login(guesser, "principal", f"guess-{i}").status_code for i in range(3)] == [401] * 3
        waited = [login(guesser, "principal", "principal-pass-8080") for _ in range(3)]
        assert [r.status_code for r in waited] == [429] * 3  # even the right password waits here
        assert waited[-1].headers["retry-after"] == "1"  # refused attempts do not lengthen the pause
    with _from(behind_proxy, "198.51.100.2") as user:
        assert login(user, "principal", "principal-pass-8080").status_code == 200
    assert _audit(behind_proxy, "principal") == (
        [(attacker, "wrong username or password")] * 3 + [(attacker, "throttled")] * 3 + [("198.51.100.2", "")])


def test_pauses_grow_with_each_further_failure(behind_proxy: Server) -> None:
    with behind_proxy.site.runtime.sessions.begin() as session:
        add_user(session, "nurse", "security", "nurse-pass-6161")
    with _from(behind_proxy, "198.51.100.3") as guesser:
        pauses = []
        for i in range(2):
            statuses = [login(guesser, "nurse", f"guess-{i}-{j}").status_code for j in range(3 if i == 0 else 1)]
            assert statuses[-1] == 401
            refused = login(guesser, "nurse", "another-guess")
            assert refused.status_code == 429
            pauses.append(int(refused.headers["retry-after"]))
            time.sleep(pauses[-1])
        assert pauses == [1, 2]
        login(guesser, "nurse", "nurse-pass-6161").raise_for_status()  # the owner's password still works
        assert login(guesser, "nurse", "one-more").status_code == 401  # a success starts the count afresh


def test_an_address_guessing_many_usernames_is_slowed(behind_proxy: Server) -> None:
    with _from(behind_proxy, "198.51.100.4") as sprayer:
        assert [login(sprayer, f"user{i}", "Winter2026!").status_code for i in range(6)] == [401] * 6
        assert login(sprayer, "user99", "Winter2026!").status_code == 429
    with _from(behind_proxy, "198.51.100.5") as neighbour:
        assert login(neighbour, "user99", "Winter2026!").status_code == 401
