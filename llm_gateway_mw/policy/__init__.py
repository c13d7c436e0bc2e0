"""Per-call policy: pricing, token estimates, cache keys, limits and budgets.

Import the submodules directly (``llm_gateway_mw.policy.pricing``...): this package imports
nothing itself, so ``import llm_gateway_mw`` stays light.
"""

from __future__ import annotations

__all__: list[str] = []
