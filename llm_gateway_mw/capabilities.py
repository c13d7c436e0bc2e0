"""Capability pre-checks: skip deployments that cannot take a request before sending it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inbound import Inbound
    from .providers.deployment import Deployment
    from .runtime import Runtime

__all__ = ["capability_problem", "has_images"]


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
    """Why ``deployment`` cannot serve ``inbound`` (context window, tools, images), or None."""
    model = deployment.model
    info = rt.model_info(deployment)
    body = inbound.body
    if body.get("tools"):
        supports = (
            model.supports_tools
            if model is not None and model.supports_tools is not None
            else (info.supports_tools if info is not None else None)
        )
        if supports is False:
            return "declared without tool support"
    messages = body.get("messages")
    if isinstance(messages, list) and has_images(messages):
        supports = (
            model.supports_images
            if model is not None and model.supports_images is not None
            else (info.supports_images if info is not None else None)
        )
        if supports is False:
            return "declared without image support"
    window = rt.context_window(deployment)
    if window is not None:
        if context_floor is not None and window <= context_floor:
            return f"context window {window} is not larger than the one that overflowed ({context_floor})"
        from .policy.tokens import estimate_prompt_tokens

        estimate = estimate_prompt_tokens(body)
        if estimate > window:
            return f"prompt of about {estimate} tokens exceeds its context window of {window}"
    return None
