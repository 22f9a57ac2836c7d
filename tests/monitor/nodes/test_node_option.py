"""``hotspot serve --node`` and ``hotspot run --node`` take a name like a camera's, and refuse
anything else before opening the site."""

from __future__ import annotations

from typer.testing import CliRunner

from monitor.cli import app


def test_a_node_name_that_is_not_an_identifier_is_refused_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["serve", "--node", "School 12/A", "--config", "/nonexistent.yaml"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--node'" in result.output and "lower-case letters" in result.output


def test_hotspot_run_takes_the_same_node_option() -> None:
    result = CliRunner().invoke(app, ["run", "--node", "School 12/A", "--config", "/nonexistent.yaml"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--node'" in result.output and "lower-case letters" in result.output
