"""Capability pre-checks: skip deployments that cannot take a request before sending it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inbound import Inbound
    from .policy.pricing import ModelInfo
    from .providers.deployment import Deployment
    from .runtime import Runtime

__all__ = ["capabilities_of", "capability_problem", "has_images"]


def has_images(messages: Iterable[Any]) -> bool:
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "image", "input_image"):
                    return True
    return False


def capability_problem(
    rt: Runtime, deployment: Deployment, inbound: Inbound, context_floor: int | None
) -> str | None:
    """Why ``deployment`` cannot serve ``inbound`` (context window, tools, images), or None.

    A body not decoded yet stays so when nothing in it could fail a check: no tool or image
    support is declared missing, and the context window is unknown or larger than the body's
    bytes (see ``_fits_undecoded``).
    """
    tools_supported, images_supported, window = rt.capabilities(deployment)
    if window is not None and context_floor is not None and window <= context_floor:
        return f"context window {window} is not larger than the one that overflowed ({context_floor})"
    if tools_supported is not False and images_supported is not False and _fits_undecoded(inbound, window):
        return None
    body = inbound.body
    if body.get("tools") and tools_supported is False:
        return "declared without tool support"
    messages = body.get("messages")
    if isinstance(messages, list) and has_images(messages) and images_supported is False:
        return "declared without image support"
    if window is not None:
        from .policy.tokens import estimate_prompt_tokens

        estimate = estimate_prompt_tokens(body)
        if estimate > window:
            return f"prompt of about {estimate} tokens exceeds its context window of {window}"
    return None


def _fits_undecoded(inbound: Inbound, window: int | None) -> bool:
    """True when an undecoded body cannot exceed ``window`` whatever it holds (no need to decode it).

    ``estimate_prompt_tokens`` counts at most one token per byte of a body without typed blocks
    (text: 4 characters a token, at most 1.5 units per UTF-8 byte; a number 3 units; 4 tokens a
    message, which takes more bytes than that): only images, files and tool blocks, all written
    with a ``"type":`` key, weigh more than their bytes.
    """
    if inbound.parsed is not None:
        return False  # decoded already: the checks cost little more than this one
    if window is None:
        return True
    raw = inbound.raw_body
    return len(raw) <= window and _TYPED_BLOCK not in raw


_TYPED_BLOCK = b'"type":'


def capabilities_of(deployment: Deployment, info: ModelInfo | None) -> tuple[bool | None, bool | None]:
    """(tools supported, images supported): the configuration's word, else the bundled table's
    ``info``; None where neither says."""
    model = deployment.model
    tools = (
        model.supports_tools
        if model is not None and model.supports_tools is not None
        else (info.supports_tools if info is not None else None)
    )
    images = (
        model.supports_images
        if model is not None and model.supports_images is not None
        else (info.supports_images if info is not None else None)
    )
    return tools, images
