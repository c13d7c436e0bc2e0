"""``check``: a valid config's resolved routing table; errors with the key path and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_gateway_mw.cli import main
from tests.cli.conftest import run_cli, run_main

CONFIG = """
[providers.openai]
type = "openai"

[providers.claude]
type = "anthropic"
api_key_env = "MY_CLAUDE_KEY"

[providers.local]
type = "mock"
latency_ms = 20

[[models]]
name = "gpt-4o-mini"
provider = "openai"

[[models]]
name = "gpt-4o-mini"
provider = "local"
limits = ["500/minute"]

[[models]]
name = "gpt-4o"
provider = "openai"

[[models]]
name = "claude-sonnet"
provider = "claude"
model = "claude-sonnet-4-5"

[[models]]
name = "house"
provider = "local"
price = { input = 0.01, output = 0.02 }

[routing]
strategy = "ordered"

[routes.auto]
targets = ["gpt-4o-mini", "gpt-4o"]

[fallbacks]
"gpt-4o" = ["claude-sonnet"]

[rate_limits]
rules = [{ per = "user", limit = "60/minute" }, { per = "tenant", limit = "200000/day", unit = "tokens" }]

[budgets]
rules = [{ per = "tenant", usd = 25.0, period = "month" }]

[[keys]]
name = "mobile-app"
hash = "sha256:0c3d9f0e6b2b8b1c6f1f6a2b2e9d6f1c0b9a8e7d6c5b4a3f2e1d0c9b8a7f6e5d"
tenant = "acme"
models = ["auto"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG)
    return path


def test_check_prints_the_resolved_routing_table(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CLAUDE_KEY", "sk-test")
    result = run_cli("check", str(config_file))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"{config_file}: valid")
    # providers and where their keys come from
    assert "$OPENAI_API_KEY (NOT SET)" in out
    assert "built-in mock (20 ms)" in out
    # every deployment, with bundled or configured prices
    for deployment in (
        "gpt-4o-mini@openai/gpt-4o-mini",
        "gpt-4o-mini@local/gpt-4o-mini",
        "claude-sonnet@claude/claude-sonnet-4-5",
    ):
        assert deployment in out
    assert "$0.15 / $0.6 (bundled)" in out and "$0.01 / $0.02 (config)" in out
    assert "500/minute" in out
    # routes and fallback chains, in the order they are tried
    assert "auto: complexity routing: tier 0 gpt-4o-mini (score < 0.25), tier 1 gpt-4o (score ≥ 0.25)" in out
    assert "gpt-4o-mini: gpt-4o-mini@openai/gpt-4o-mini → gpt-4o-mini@local/gpt-4o-mini" in out
    assert "gpt-4o: gpt-4o@openai/gpt-4o  ⇒ claude-sonnet" in out
    # limits, budgets, keys
    assert "per user" in out and "60/minute" in out and "200000/day" in out and "tokens" in out
    assert "$25" in out and "per month" in out
    assert "mobile-app" in out and "acme" in out


def test_check_env_key_set(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MY_CLAUDE_KEY", "sk-test")
    assert main(["check", str(config_file)]) == 0
    assert "$MY_CLAUDE_KEY (set)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "path", "hint"),
    [
        ('[[models]]\nname = "x"\nprovder = "y"\n', "models[0].provder", "did you mean 'provider'?"),
        (
            '[providers.p]\ntype = "mock"\n[[models]]\nname = "x"\nprovider = "q"\n',
            "models[0].provider",
            "declare [providers.q]",
        ),
        (
            '[rate_limits]\nrules = [{ per = "user", limit = "lots" }]\n',
            "rate_limits.rules[0].limit",
            "e.g. '60/minute'",
        ),
        ('[routing]\nstrategy = "fastest"\n', "routing.strategy", "weighted | ordered"),
        ('[[keys]]\nname = "k"\nhash = "md5:abc"\n', "keys[0]", "llm-gateway-mw keys new"),
    ],
)
def test_errors_name_the_key_path_and_a_hint(tmp_path: Path, text: str, path: str, hint: str) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(text)
    code, _, err = run_main("check", str(file))
    assert code == 1 and len(err.splitlines()) == 1
    line = err.strip()
    assert line.startswith(f"llm-gateway-mw check: error: {file}: {path}")
    assert hint in line


def test_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("[providers\n")
    assert main(["check", str(file)]) == 1
    err = capsys.readouterr().err
    assert "not valid TOML" in err and len(err.strip().splitlines()) == 1


def test_literal_api_key_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(
        '[providers.o]\ntype = "openai"\napi_key = "sk-live"\n[[models]]\nname = "gpt-4o"\nprovider = "o"\n'
    )
    assert main(["check", str(file)]) == 0
    out = capsys.readouterr().out
    assert "warning: providers.o.api_key holds a literal secret" in out
    assert "literal api_key in the file" in out


def test_empty_config_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("")
    assert main(["check", str(file)]) == 0
    assert "every model passes through" in capsys.readouterr().out
