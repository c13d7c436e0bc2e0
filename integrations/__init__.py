"""Framework adapters, shipped as ``llm_gateway_mw.integrations``: Django and Flask.

Each adapter is thin glue over the generic machinery in ``llm_gateway_mw.asgi`` (who is
calling, the call context, refusal mapping and usage headers); importing this package
imports no framework.
"""

from __future__ import annotations

__all__: list[str] = []
