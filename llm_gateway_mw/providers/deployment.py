"""Deployments: one model at one provider, and how to address a request to it.

A deployment knows its dialect, URL, credentials and capabilities. The implicit
*passthrough* deployment sends a request exactly as the wrapped SDK built it, to the
client's own upstream, so wrapping never breaks an existing client.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config.schema import ModelConfig, ProviderConfig
from ..dialects import Dialect
from ..effects import UpstreamRequest
from ..errors import ConfigError, MissingCredentialsError
from ..headers import RawHeader, header_pairs, raw_header
from ..inbound import Inbound, replace_model
from ..jsonwire import dumps_compact

__all__ = ["Deployment", "passthrough_deployment"]

_PROVIDER_KIND = {
    "openai": "openai",
    "openai-compatible": "openai",
    "azure-openai": "azure.ai.openai",
    "anthropic": "anthropic",
    "mock": "mock",
}
_DEFAULT_BASE = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
_OPENAI_PATHS = {"chat": "/chat/completions", "embeddings": "/embeddings", "responses": "/responses"}
ANTHROPIC_VERSION = "2023-06-01"
_ANTHROPIC_VERSION = (b"anthropic-version", b"anthropic-version", ANTHROPIC_VERSION.encode())
_CONTENT_TYPE_JSON = (b"content-type", b"content-type", b"application/json")
_SERVERS: dict[str, tuple[str | None, int | None]] = {}

# Request headers never forwarded: credentials, framing, and the gateway's own controls.
_NEVER_FORWARD = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "x-llm-gateway-cache",
        "content-type",  # the body sent is JSON the gateway wrote: its own content-type goes with it
    }
)
_DIALECT_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("openai-", "x-stainless-"),
    "anthropic": ("anthropic-", "x-stainless-"),
}


@dataclass(slots=True)
class Deployment:
    """A routable target: a ``[[models]]`` entry bound to its provider."""

    id: str
    name: str
    upstream_model: str
    provider_name: str
    provider_type: str
    dialect: Dialect | None  # None: answers in whatever dialect it is asked in (mock, passthrough)
    base_url: str
    model: ModelConfig | None = None
    provider: ProviderConfig | None = None
    passthrough: bool = False
    # What every attempt record copies (name, provider, kind, upstream model, address, port): built once.
    attempt_facts: tuple[str, str, str, str, str | None, int | None] = field(init=False, repr=False)
    # The provider's own headers and the JSON content type, as httpx stores headers: built once.
    _provider_headers: tuple[RawHeader, ...] = field(init=False, repr=False)
    _model_json: bytes = field(init=False, repr=False)  # the upstream model as a JSON string's content
    _auth_cache: tuple[str, Dialect, tuple[RawHeader, ...]] | None = field(
        default=None, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._provider_headers = _provider_headers(self.provider)
        self._model_json = json.dumps(self.upstream_model)[1:-1].encode()
        address, port = self.server
        self.attempt_facts = (
            self.name,
            self.provider_name,
            self.provider_kind,
            self.upstream_model,
            address,
            port,
        )

    @property
    def provider_kind(self) -> str:
        """The ``gen_ai.provider.name`` value."""
        return _PROVIDER_KIND.get(self.provider_type, self.provider_type)

    @property
    def server(self) -> tuple[str | None, int | None]:
        """``server.address`` and ``server.port`` of the upstream (None for the in-process mock)."""
        cached = _SERVERS.get(self.base_url)
        if cached is None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https"):
                cached = (None, None)
            else:
                cached = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
            if len(_SERVERS) < 4096:
                _SERVERS[self.base_url] = cached
        return cached

    @classmethod
    def from_config(cls, model: ModelConfig, provider: ProviderConfig) -> Deployment:
        dialect: Dialect | None
        if provider.type == "mock":
            dialect = None
        elif provider.type == "anthropic":
            dialect = "anthropic"
        else:
            dialect = "openai"
        base = provider.base_url or _DEFAULT_BASE.get(provider.type, f"mock://{provider.name}")
        return cls(
            id=model.deployment_id,
            name=model.name,
            upstream_model=model.model,
            provider_name=provider.name,
            provider_type=provider.type,
            dialect=dialect,
            base_url=base.rstrip("/"),
            model=model,
            provider=provider,
        )

    def target_dialect(self, inbound: Dialect) -> Dialect:
        return self.dialect or inbound

    def can_serve(self, operation: str, inbound: Dialect) -> str | None:
        """Why this deployment cannot serve the operation, or None when it can."""
        target = self.target_dialect(inbound)
        if operation != "chat" and target == "anthropic":
            return f"{operation} is an OpenAI API; {self.id} speaks the Anthropic dialect"
        if operation == "responses" and inbound != "openai":
            return "the Responses API is OpenAI-only"
        return None

    def build_request(
        self, inbound: Inbound, body: dict[str, Any] | None, timeout: float | None
    ) -> UpstreamRequest:
        """Address ``body`` (in this deployment's dialect) to this deployment.

        ``body`` None: the SDK's request goes as it came, on a passthrough, or with its model
        replaced for a same-dialect deployment (the body is undecoded: ``Inbound.parsed`` None).
        """
        if self.passthrough:
            return UpstreamRequest(
                inbound.method,
                inbound.url,  # may be "": the raw request carries the URL
                inbound.headers,  # unread: the SDK's own request object goes out as it is
                inbound.raw_body,
                inbound.stream,
                timeout,
                json_body=inbound.parsed,  # None when not decoded: a passthrough never needs it
                raw=inbound.raw_request,
            )
        target = self.target_dialect(inbound.dialect)
        # Every header as httpx stores it, (name, lowered name, value) bytes: the caller's go on as
        # they came, with no decoding and encoding again per call (``HttpUpstream`` sends them as they are).
        headers = _forwarded(inbound.headers, target == inbound.dialect, inbound.dialect)
        provider = self.provider
        assert provider is not None
        if target == "anthropic":
            url = self.base_url + "/v1/messages"
            if not any(lowered == b"anthropic-version" for _, lowered, _ in headers):
                headers.append(_ANTHROPIC_VERSION)
        elif self.provider_type == "azure-openai":
            url = (
                f"{self.base_url}/openai/deployments/{self.upstream_model}{_OPENAI_PATHS[inbound.operation]}"
                f"?api-version={provider.api_version}"
            )
        else:
            url = self.base_url + _OPENAI_PATHS[inbound.operation]
        if self.provider_type != "mock":
            headers.extend(self._auth_raw(provider, target))
        headers.extend(self._provider_headers)
        if body is None:  # the caller's bytes, undecoded (same dialect): only the model is replaced
            raw = replace_model(inbound.raw_body, self._model_json)
        else:
            body["model"] = self.upstream_model
            raw = dumps_compact(body).encode()
        return UpstreamRequest("POST", url, headers, raw, inbound.stream, timeout, json_body=body)

    def _auth_raw(self, provider: ProviderConfig, target: Dialect) -> tuple[RawHeader, ...]:
        """The credential headers as httpx stores them, built again only when the key changes."""
        key = provider.api_key
        if not key:
            variable = provider.key_variable
            key = os.environ.get(variable) if variable else None
            if variable and not key:
                raise MissingCredentialsError(provider.name, variable)
        if not key:
            return ()
        cached = self._auth_cache
        if cached is not None and cached[0] == key and cached[1] == target:
            return cached[2]
        headers = tuple(raw_header(name, value) for name, value in _auth_headers(provider, target, key))
        self._auth_cache = (key, target, headers)
        return headers


def _auth_headers(provider: ProviderConfig, target: Dialect, key: str) -> list[tuple[str, str]]:
    """The provider's credential headers for ``key``, as the target API expects them."""
    if provider.type == "azure-openai":
        return [("api-key", key)]
    if target == "anthropic":
        return [("x-api-key", key)]
    headers = [("authorization", f"Bearer {key}")]
    if provider.organization:
        headers.append(("openai-organization", provider.organization))
    return headers


_NEVER_FORWARD_BYTES = frozenset(name.encode() for name in _NEVER_FORWARD)
_DIALECT_PREFIXES_BYTES = {d: tuple(p.encode() for p in ps) for d, ps in _DIALECT_PREFIXES.items()}


def _provider_headers(provider: ProviderConfig | None) -> tuple[RawHeader, ...]:
    configured = provider.headers if provider is not None else {}
    try:
        headers = [raw_header(name, value) for name, value in configured.items()]
    except UnicodeEncodeError:
        assert provider is not None
        raise ConfigError(
            "header names and values must be ASCII (HTTP carries nothing else): percent-encode the value",
            path=f"providers.{provider.name}.headers",
        ) from None
    if not any(lowered == b"content-type" for _, lowered, _ in headers):
        headers.append(_CONTENT_TYPE_JSON)
    return tuple(headers)


def _forwarded(headers: Any, same_dialect: bool, inbound: Dialect) -> list[RawHeader]:
    """The caller's headers to send on: credentials, framing and (across dialects) SDK headers dropped.

    An HTTP library's ``Headers`` object is filtered on the lowered bytes it already stores, and
    its entries go on as they are: nothing is decoded and encoded again per call.
    """
    stored = None if isinstance(headers, list) else getattr(headers, "_list", None)
    never = _NEVER_FORWARD_BYTES
    if isinstance(stored, list):
        if same_dialect:
            return [header for header in stored if header[1] not in never]
        skip = _DIALECT_PREFIXES_BYTES[inbound]
        return [header for header in stored if header[1] not in never and not header[1].startswith(skip)]
    prefixes = () if same_dialect else _DIALECT_PREFIXES[inbound]
    out: list[RawHeader] = []
    for key, value in header_pairs(headers):
        lowered = key.lower()
        if lowered in _NEVER_FORWARD or (prefixes and lowered.startswith(prefixes)):
            continue
        out.append(raw_header(key, value))
    return out


def passthrough_deployment(model: str, dialect: Dialect, base_url: str) -> Deployment:
    """The wrapped client's own upstream, for models the config does not declare."""
    return Deployment(
        id=f"{model}@passthrough",
        name=model,
        upstream_model=model,
        provider_name="passthrough",
        provider_type="anthropic" if dialect == "anthropic" else "openai",
        dialect=dialect,
        base_url=base_url.rstrip("/"),
        passthrough=True,
    )
