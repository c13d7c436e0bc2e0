"""Config loading: typed errors that name the file, the key path, what was expected and found."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from llm_gateway_mw import ConfigError, Gateway
from llm_gateway_mw.config import ConfigWarning, load_config, load_file

BASE = {
    "providers": {"openai": {"type": "openai"}, "anthropic": {"type": "anthropic"}},
    "models": [
        {"name": "gpt-4o", "provider": "openai", "model": "gpt-4o-2024-08-06"},
        {"name": "claude-sonnet", "provider": "anthropic", "model": "claude-sonnet-4-5"},
        {"name": "gpt-4o-mini", "provider": "openai"},
    ],
}


def test_valid_config_builds_typed_objects() -> None:
    config = load_config(BASE)
    assert config.providers["openai"].name == "openai"
    assert config.models[0].model == "gpt-4o-2024-08-06"
    assert config.models[2].model == "gpt-4o-mini"  # upstream id defaults to the name
    assert config.model_names() == ["gpt-4o", "claude-sonnet", "gpt-4o-mini"]


def test_unknown_key_names_its_path_and_suggests() -> None:
    data = {**BASE, "models": [*BASE["models"], {"name": "x", "provder": "openai"}]}
    with pytest.raises(ConfigError) as info:
        load_config(data)
    assert "models[3].provder: unknown key (did you mean 'provider'?)" in str(info.value)
    assert info.value.path == "models[3].provder"


def test_wrong_type_says_expected_and_found() -> None:
    data = {**BASE, "retry": {"attempts": "three"}}
    with pytest.raises(ConfigError) as info:
        load_config(data)
    message = str(info.value)
    assert "retry.attempts" in message and "expected an integer" in message and "'three'" in message


def test_unsupported_enum_value_suggests_closest() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"providers": {"p": {"type": "antropic"}}})
    assert "providers.p.type" in str(info.value)
    assert "did you mean 'anthropic'?" in str(info.value)


def test_undeclared_provider_reference() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"models": [{"name": "m", "provider": "nope"}]})
    assert "models[0].provider" in str(info.value) and "not declared" in str(info.value)


def test_route_and_fallback_references_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"routes\.auto\.targets\[1\]"):
        load_config({**BASE, "routes": {"auto": {"targets": ["gpt-4o-mini", "gpt-5"]}}})
    with pytest.raises(ConfigError, match=r"fallbacks\.gpt-4o\[0\]"):
        load_config({**BASE, "fallbacks": {"gpt-4o": ["gemini"]}})


def test_bad_rate_limit_notation() -> None:
    data = {**BASE, "rate_limits": {"rules": [{"per": "user", "limit": "sixty a minute"}]}}
    with pytest.raises(ConfigError, match=r"rate_limits\.rules\[0\]\.limit"):
        load_config(data)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[providers.openai]\ntype = "openai"\ntimeout_s = 3\n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert str(path) in str(info.value) and "providers.openai.timeout_s" in str(info.value)
    path.write_text("[providers\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_file(tmp_path / "missing.toml")


def test_literal_api_key_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_config({"providers": {"openai": {"type": "openai", "api_key": "sk-literal"}}})
    assert any(issubclass(w.category, ConfigWarning) and "api_key_env" in str(w.message) for w in caught)


def test_toml_and_dict_are_the_same_schema(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[providers.openai]\ntype = "openai"\napi_key_env = "OPENAI_API_KEY"\n\n'
        '[[models]]\nname = "gpt-4o"\nprovider = "openai"\nmodel = "gpt-4o-2024-08-06"\n'
    )
    from_file = Gateway.from_file(path).config
    from_dict = Gateway(
        {
            "providers": {"openai": {"type": "openai", "api_key_env": "OPENAI_API_KEY"}},
            "models": [{"name": "gpt-4o", "provider": "openai", "model": "gpt-4o-2024-08-06"}],
        }
    ).config
    assert from_file == from_dict


def test_zero_config() -> None:
    gateway = Gateway()
    assert gateway.config.models == () and gateway.config.strict is False


def test_keys_need_a_hash_not_a_key() -> None:
    with pytest.raises(ConfigError, match="sha256"):
        load_config({"keys": [{"name": "k", "hash": "gw_plaintextkey"}]})
