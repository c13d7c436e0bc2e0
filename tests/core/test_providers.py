"""Provider addressing: URLs, auth headers and header forwarding per provider type, and Azure clients."""

from __future__ import annotations

import json

import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.config import load_config
from llm_gateway_mw.effects import UpstreamRequest
from llm_gateway_mw.errors import ConfigError, MissingCredentialsError
from llm_gateway_mw.inbound import Inbound
from llm_gateway_mw.providers.deployment import Deployment


def inbound(dialect: str = "openai", operation: str = "chat") -> Inbound:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return Inbound(
        dialect=dialect,
        operation=operation,
        method="POST",
        url="http://app/v1/chat/completions",  # type: ignore[arg-type]
        headers=[
            ("authorization", "Bearer app-key"),
            ("x-stainless-lang", "python"),
            ("x-custom", "kept"),
            ("content-length", "10"),
            ("x-llm-gateway-cache", "no-cache"),
        ],
        raw_body=json.dumps(body).encode(),
        parsed=body,
        model="m",
        stream=False,
        timeout=None,
    )


def sent(request: UpstreamRequest) -> dict[str, str]:
    """The request's headers by lowered name (they are kept as httpx stores them: bytes triples)."""
    return {lowered.decode(): value.decode() for _, lowered, value in request.headers}


def deployment(provider: dict[str, object], model: str = "m") -> Deployment:
    config = load_config(
        {"providers": {"p": provider}, "models": [{"name": "m", "provider": "p", "model": model}]}
    )
    return Deployment.from_config(config.models[0], config.providers["p"])


def test_azure_openai_url_and_api_key_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
    dep = deployment(
        {"type": "azure-openai", "base_url": "https://res.openai.azure.com", "api_version": "2024-10-21"},
        model="gpt4o-deploy",
    )
    request = dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)
    assert request.url == (
        "https://res.openai.azure.com/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21"
    )
    headers = sent(request)
    assert headers["api-key"] == "az-key" and "authorization" not in headers
    assert dep.provider_kind == "azure.ai.openai" and dep.server == ("res.openai.azure.com", 443)


def test_openai_provider_replaces_the_apps_key_and_keeps_app_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "provider-key")
    dep = deployment(
        {"type": "openai", "organization": "org-1", "headers": {"x-extra": "1"}}, model="gpt-4o-2024"
    )
    request = dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)
    headers = sent(request)
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert headers["authorization"] == "Bearer provider-key" and headers["openai-organization"] == "org-1"
    assert (
        headers["x-custom"] == "kept"
        and headers["x-stainless-lang"] == "python"
        and headers["x-extra"] == "1"
    )
    assert "content-length" not in headers and "x-llm-gateway-cache" not in headers
    assert json.loads(request.body)["model"] == "gpt-4o-2024"


def test_cross_dialect_drops_the_other_sdks_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ant-key")
    dep = deployment({"type": "anthropic"})
    request = dep.build_request(inbound(), {"model": "m", "messages": [], "max_tokens": 5}, 5.0)
    headers = sent(request)
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert headers["x-api-key"] == "ant-key" and headers["anthropic-version"] == "2023-06-01"
    assert "x-stainless-lang" not in headers and headers["x-custom"] == "kept"


def test_missing_key_names_the_variable() -> None:
    dep = deployment({"type": "openai", "api_key_env": "MY_OPENAI_KEY"})
    with pytest.raises(MissingCredentialsError, match="MY_OPENAI_KEY"):
        dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)


def test_embeddings_cannot_go_to_anthropic() -> None:
    dep = deployment({"type": "anthropic"})
    assert dep.can_serve("embeddings", "openai") is not None
    assert dep.can_serve("chat", "openai") is None


def test_wrapped_azure_client_is_served_by_the_gateway() -> None:
    gateway = Gateway(
        {"providers": {"mock": {"type": "mock"}}, "models": [{"name": "gpt-4o", "provider": "mock"}]}
    )
    client = gateway.wrap(
        openai.AzureOpenAI(api_key="k", api_version="2024-10-21", azure_endpoint="http://127.0.0.1:9")
    )
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "You said: hi" in (completion.choices[0].message.content or "")
    assert isinstance(client, openai.AzureOpenAI)


@pytest.mark.parametrize("module_name", ["httpx", "httpx2"])
def test_sdk_headers_are_forwarded_as_their_own_bytes(
    module_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK request's Headers object is filtered on its stored bytes: same result as the str pairs."""
    module = pytest.importorskip(module_name)
    monkeypatch.setenv("OPENAI_API_KEY", "provider-key")
    pairs = inbound().headers
    as_object = inbound()
    as_object.headers = module.Headers([("X-Custom", "kept"), *pairs[:2], *pairs[3:]])
    for dep in (
        deployment({"type": "openai"}),
        deployment({"type": "anthropic", "api_key_env": "OPENAI_API_KEY"}),
    ):
        from_pairs = dep.build_request(inbound(), {"model": "m", "messages": [], "max_tokens": 5}, 5.0)
        from_object = dep.build_request(as_object, {"model": "m", "messages": [], "max_tokens": 5}, 5.0)
        decoded = [(k.decode(), v.decode()) for k, _, v in from_object.headers]
        assert ("X-Custom", "kept") in decoded  # the caller's own spelling, unchanged
        assert {(k.lower(), v) for k, v in decoded} == set(sent(from_pairs).items())
        assert all(lowered == name.lower() for name, lowered, _ in from_object.headers)
        assert not any(
            k.lower() in ("authorization", "content-length") and v == "Bearer app-key" for k, v in decoded
        )


def test_provider_headers_must_be_ascii() -> None:
    with pytest.raises(ConfigError, match="ASCII") as err:
        deployment({"type": "openai", "headers": {"x-team": "équipe"}})
    assert err.value.path == "providers.p.headers"


def test_a_provider_content_type_replaces_the_default_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "provider-key")
    dep = deployment({"type": "openai", "headers": {"Content-Type": "application/json; charset=utf-8"}})
    request = dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)
    assert [v for _, lowered, v in request.headers if lowered == b"content-type"] == [
        b"application/json; charset=utf-8"
    ]


def test_a_rotated_key_is_sent_from_the_next_call_on(monkeypatch: pytest.MonkeyPatch) -> None:
    dep = deployment({"type": "openai", "api_key_env": "ROTATING_KEY"})
    for key in ("key-1", "key-1", "key-2"):
        monkeypatch.setenv("ROTATING_KEY", key)
        request = dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)
        assert sent(request)["authorization"] == f"Bearer {key}"
    monkeypatch.delenv("ROTATING_KEY")
    with pytest.raises(MissingCredentialsError, match="ROTATING_KEY"):
        dep.build_request(inbound(), {"model": "m", "messages": []}, 5.0)
