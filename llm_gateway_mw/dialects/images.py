"""Image content between dialects: OpenAI ``image_url`` parts and Anthropic ``image`` blocks.

OpenAI carries an image as a URL, inline images as ``data:<media>;base64,<data>`` URLs;
Anthropic has a ``base64`` source (media type + data) and a ``url`` source. Inline images
become base64 sources and back; http(s) URLs become url sources and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .request_rules import ParameterPolicy, expect_mapping, expect_str

__all__ = ["ANTHROPIC_IMAGE_MEDIA_TYPES", "anthropic_image_to_openai", "openai_image_to_anthropic"]

ANTHROPIC_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def openai_image_to_anthropic(
    part: Mapping[str, Any], where: str, policy: ParameterPolicy
) -> dict[str, Any] | None:
    """An OpenAI ``image_url`` part as an Anthropic image block (None when dropped).

    ``detail`` has no Anthropic equivalent; it is a resolution hint that does not change
    what the image shows, so it is left out rather than refused.
    """
    image = part.get("image_url")
    if isinstance(image, str):  # some clients send the URL directly
        url = image
    else:
        url = expect_str(expect_mapping(image, f"{where}.image_url").get("url"), f"{where}.image_url.url")
    if url.startswith("data:"):
        header, sep, data = url.partition(",")
        media_type, _, encoding = header[5:].partition(";")
        if not sep or encoding != "base64":
            raise InvalidRequestError(
                f"'{where}.image_url.url' is a data URL that is not base64-encoded; "
                f"send it as data:<media type>;base64,<data>."
            )
        if media_type not in ANTHROPIC_IMAGE_MEDIA_TYPES:
            policy.refuse(
                f"{where}.image_url",
                f"Anthropic accepts only {', '.join(sorted(ANTHROPIC_IMAGE_MEDIA_TYPES))} images, "
                f"not {media_type or 'an unspecified media type'}",
            )
            return None
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequestError(f"'{where}.image_url.url' must be an http(s) URL or a base64 data URL.")


def anthropic_image_to_openai(
    block: Mapping[str, Any], where: str, policy: ParameterPolicy
) -> dict[str, Any] | None:
    """An Anthropic image block as an OpenAI ``image_url`` part (None when dropped)."""
    source = expect_mapping(block.get("source"), f"{where}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = expect_str(source.get("media_type"), f"{where}.source.media_type")
        data = expect_str(source.get("data"), f"{where}.source.data")
        return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}
    if kind == "url":
        url = expect_str(source.get("url"), f"{where}.source.url")
        return {"type": "image_url", "image_url": {"url": url}}
    policy.refuse(
        f"{where}.source",
        f"image source type {kind!r} has no OpenAI equivalent; send the image as base64 or a URL",
    )
    return None
