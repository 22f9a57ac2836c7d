"""The network-facing settings (``server:``) and ``storage.group`` refuse what would not work."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config
from tests.conftest import base_config, write_config


def _problems(tmp_path: Path, **data: object) -> str:
    path = write_config(tmp_path, {**base_config(tmp_path), **data})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_defaults_trust_no_proxy_and_answer_loopback_names_only(tmp_path: Path) -> None:
    server = load_config(write_config(tmp_path, base_config(tmp_path))).server
    assert server.trusted_proxies == [] and server.metrics_token is None
    assert set(server.allowed_hosts) == {"localhost", "127.0.0.1", "::1"}


def test_bad_server_settings_are_named(tmp_path: Path) -> None:
    message = _problems(tmp_path, server={"trusted_proxies": ["10.0.0.5", "proxy.example"],
                                          "metrics_token": "short", "allowed_hosts": []})
    assert "server.trusted_proxies[1]: 'proxy.example' is not an IP address or network" in message
    assert "server.metrics_token: use at least 16 characters" in message
    assert "server.allowed_hosts" in message
    assert "server.allow_hosts" in _problems(tmp_path, server={"allow_hosts": ["x"]})  # misspelt


def test_storage_group_must_exist(tmp_path: Path) -> None:
    storage = {**base_config(tmp_path)["storage"], "group": "no-such-group-here"}
    assert "storage.group: no Unix group 'no-such-group-here'" in _problems(tmp_path, storage=storage)
