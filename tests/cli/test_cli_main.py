"""Every command has --help, and bad input ends with one line and a non-zero status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llm_gateway_mw.cli import build_parser, main
from tests.cli.conftest import cli_env, one_line_error, run_cli, run_main

COMMANDS = [["demo"], ["serve"], ["check"], ["keys"], ["keys", "new"], ["savings"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: llm-gateway-mw {' '.join(command)}")
    assert len(out.splitlines()) > 3


def test_top_level_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("demo", "serve", "check", "keys", "savings"):
        assert f"    {name}" in result.stdout


def test_version_and_no_command() -> None:
    assert run_cli("--version").stdout.strip() == "llm-gateway-mw 0.1.0"
    bare = run_cli()
    assert bare.returncode == 2 and "usage: llm-gateway-mw" in bare.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check"], "the following arguments are required: CONFIG"),
        (["check", "/nonexistent/gateway.toml"], "no such file"),
        (["keys"], "choose a key command: new"),
        (["keys", "new", "--name", ""], "invalid key name"),
        (["savings"], "the following arguments are required: LOG.jsonl"),
        (["savings", "/nonexistent.jsonl"], "cannot read /nonexistent.jsonl"),
        (["demo", "--requests", "0"], "--requests must be between 1 and 200"),
        (["demo", "--requests", "lots"], "invalid int value: 'lots'"),
        (["serve", "--port", "70000"], "--port must be between 0 and 65535"),
        (["serve", "--status", "sometimes"], "invalid choice: 'sometimes'"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(args: list[str], expected: str) -> None:
    code, _, err = run_main(*args)
    assert code in (1, 2)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("llm-gateway-mw") and expected in err


@pytest.mark.parametrize(
    ("args", "status"), [(["frobnicate"], 2), (["check", "/nonexistent/gateway.toml"], 1)]
)
def test_exit_status_of_the_real_command(args: list[str], status: int) -> None:
    result = run_cli(*args)
    one_line_error(result)
    assert result.returncode == status


def test_main_returns_status_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/gateway.toml"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_importing_the_cli_is_cheap() -> None:
    """``main`` and its parser import no SDK, framework or server."""
    code = (
        "import sys, llm_gateway_mw.cli as c; c.build_parser();"
        "heavy = [m for m in ('openai', 'anthropic', 'fastapi', 'uvicorn', 'opentelemetry.sdk', 'httpx') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert out.stdout.strip() == "[]"
    assert build_parser().prog == "llm-gateway-mw"
