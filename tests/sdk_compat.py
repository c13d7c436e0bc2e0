"""Small shims so the same tests run on both SDK generations (openai 1.x/anthropic 0.x and current)."""

from __future__ import annotations

from typing import Any


def chat_stream(client: Any) -> Any:
    """``chat.completions.stream`` (current SDKs) or ``beta.chat.completions.stream`` (older 1.x)."""
    completions = client.chat.completions
    return completions.stream if hasattr(completions, "stream") else client.beta.chat.completions.stream


def sdk_http_module() -> Any:
    """The HTTP library the installed openai SDK generation takes for ``http_client`` (httpx2 or httpx)."""
    import openai

    if int(openai.__version__.split(".")[0]) >= 3:
        import httpx2

        return httpx2
    import httpx

    return httpx


def anthropic_has_sdk_tracing() -> bool:
    """anthropic 2.x emits its own OpenTelemetry call spans (the ``open_telemetry`` client option)."""
    import inspect

    import anthropic

    return "open_telemetry" in inspect.signature(anthropic.Anthropic.__init__).parameters
