"""``gateway.wrap(client)``: the same SDK client class, with its HTTP transport routed through the gateway."""

from __future__ import annotations

import inspect
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .binding import Binding
from .dialects import Dialect
from .transport import transport_classes
from .upstream.http import HttpUpstream

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["wrap_client"]

ClientT = TypeVar("ClientT")


class WrapError(TypeError):
    """The object given to ``wrap`` is not a supported SDK client."""


def _dialect_of(client: Any) -> Dialect:
    for cls in type(client).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root == "openai" and cls.__name__ in ("OpenAI", "AsyncOpenAI"):
            return "openai"
        if root == "anthropic" and cls.__name__ in ("Anthropic", "AsyncAnthropic"):
            return "anthropic"
    raise WrapError(
        f"wrap() takes an openai.OpenAI, openai.AsyncOpenAI, openai.AzureOpenAI, openai.AsyncAzureOpenAI, "
        f"anthropic.Anthropic or anthropic.AsyncAnthropic client, not {type(client).__module__}."
        f"{type(client).__qualname__}"
    )


def _http_module(http_client: Any) -> ModuleType:
    """httpx or httpx2, whichever library the SDK client's HTTP client comes from."""
    for cls in type(http_client).__mro__:
        root = cls.__module__.split(".", 1)[0]
        module = sys.modules.get(root)
        if root in ("httpx", "httpx2") and module is not None:
            return module
    raise WrapError(
        f"the client's HTTP client is a {type(http_client).__qualname__}; expected httpx or httpx2"
    )


def wrap_client(runtime: Runtime, client: ClientT, *, keep_sdk_tracing: bool = False) -> ClientT:
    """A copy of ``client`` whose every request goes through ``runtime``'s pipeline, with SDK retries off."""
    dialect = _dialect_of(client)
    http_client: Any = client._client  # type: ignore[attr-defined]
    module = _http_module(http_client)
    transport = getattr(http_client, "_transport", None)
    original = getattr(transport, "original_http_client", None)
    if original is not None:
        http_client = original  # re-wrapping: start again from the application's own HTTP client
    is_async = isinstance(http_client, module.AsyncClient)
    passthrough = (
        HttpUpstream(module, async_client=http_client)
        if is_async
        else HttpUpstream(module, sync_client=http_client)
    )
    binding = Binding(dialect=dialect, module=module, passthrough=passthrough, base_url=str(client.base_url))  # type: ignore[attr-defined]
    sync_cls, async_cls = transport_classes(module)
    gateway_transport = (async_cls if is_async else sync_cls)(runtime, binding)
    gateway_transport.original_http_client = http_client
    client_cls = module.AsyncClient if is_async else module.Client
    wrapped_http = client_cls(transport=gateway_transport, timeout=http_client.timeout)
    options: dict[str, Any] = {"http_client": wrapped_http, "max_retries": 0}
    if not keep_sdk_tracing and "open_telemetry" in inspect.signature(client.with_options).parameters:  # type: ignore[attr-defined]
        options["open_telemetry"] = False  # anthropic>=2: its own call span would duplicate the gateway's
    return client.with_options(**options)  # type: ignore[attr-defined, no-any-return]
