"""Wire dialects the gateway speaks: OpenAI Chat Completions and Anthropic Messages.

Pure translation between them, no I/O:

* :mod:`.sse` parses and encodes server-sent events;
* :mod:`.requests` translates request bodies (refusing what the other side cannot express);
* :mod:`.responses` translates reply bodies and reads usage and finish reasons;
* :mod:`.streams` translates or observes streams event by event;
* :mod:`.errors` builds error bodies and in-stream error events in either dialect.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Dialect"]

Dialect = Literal["openai", "anthropic"]
