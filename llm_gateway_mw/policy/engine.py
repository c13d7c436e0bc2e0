"""The configured policy: rate limits, budgets and the response cache, wired to the pipeline hooks.

``build_policy(config)`` returns the zero-config ``Policy`` when nothing is configured and
a ``ConfiguredPolicy`` otherwise; ``limits`` and ``redis`` are imported only then.

Per call: ``admit`` charges the rate-limit rules (requests, estimated tokens) and then
reserves the worst-case cost on the budgets; a refusal by either gives back whatever was
already charged, so a refused call consumes nothing. ``deployment_admit`` charges a
deployment's own ``limits`` (a deployment at its limit is skipped like an unhealthy one).
``settle`` moves token reservations and budget holds to the real usage and cost (tokens
reserved on deployments that did not serve the call are refunded); ``release`` refunds
tokens and the budget hold of a call that failed or was served from the cache.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigError, GatewayRefusal, RateLimitExceeded
from .admission import Admission, Policy, run_local
from .stores import Connectors, Guard, check_storage_url, is_memory_url, redis_errors

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config.schema import GatewayConfig
    from ..drivers import CoreGen
    from ..inbound import Inbound
    from ..providers.deployment import Deployment
    from ..records import Caller, CallRecord
    from ..routing.plan import Plan
    from .budgets import Budgets, BudgetStatus, Hold
    from .cache import ResponseCache
    from .pricing import Price
    from .ratelimit import Charge, RateLimiting

__all__ = ["CallAdmission", "ConfiguredPolicy", "build_policy", "is_configured"]

_log = logging.getLogger("llm_gateway_mw.policy")
_OPEN_CALLS_CAP = 100_000  # admissions of calls in flight; a leak past this forgets the oldest


@dataclass(slots=True)
class CallAdmission(Admission):
    """Everything one call reserved: rule charges, deployment charges and the budget hold."""

    call_id: int = 0
    charges: list[Charge] = field(default_factory=list)
    deployment_charges: list[tuple[str, list[Charge]]] = field(default_factory=list)
    hold: Hold | None = None
    prompt_tokens: int | None = None


def is_configured(config: GatewayConfig) -> bool:
    """Whether any limit, budget or cache is configured (else the zero-config policy applies)."""
    return bool(
        config.rate_limits.rules
        or config.budgets.rules
        or config.cache.enabled
        or any(model.limits for model in config.models)
        or any(key.rate_limits or key.budget_usd is not None for key in config.keys)
    )


def _guard(name: str, section: str, url: str, fail_open: bool, timeout: float) -> Guard:
    check_storage_url(url, section)
    if timeout <= 0:
        raise ConfigError("storage_timeout must be positive", path=f"{section}.storage_timeout")
    local = is_memory_url(url)
    return Guard(name, url, fail_open, () if local else redis_errors(), local=local)


def build_policy(config: GatewayConfig) -> Policy:
    """The policy for ``config``: ``Policy()`` when nothing is configured."""
    if not is_configured(config):
        return Policy()
    limiting: RateLimiting | None = None
    budgets: Budgets | None = None
    cache: ResponseCache | None = None
    redis = Connectors()  # stores on one Redis URL share its connection pools
    rl = config.rate_limits
    if rl.rules or any(m.limits for m in config.models) or any(k.rate_limits for k in config.keys):
        from .limits_store import LimitsStore
        from .ratelimit import RateLimiting, compile_call_rules, compile_deployment_rules

        guard = _guard("rate limits", "rate_limits", rl.storage, rl.fail_open, rl.storage_timeout)
        limiting = RateLimiting(
            LimitsStore(rl, redis.get(rl.storage, rl.storage_timeout)),
            guard,
            compile_call_rules(config),
            compile_deployment_rules(config),
        )
    bc = config.budgets
    if bc.rules or any(k.budget_usd is not None for k in config.keys):
        from .budgets import Budgets, LedgerStore, compile_budgets

        guard = _guard("budgets", "budgets", bc.storage, bc.fail_open, bc.storage_timeout)
        ledger = LedgerStore(bc, redis.get(bc.storage, bc.storage_timeout))
        budgets = Budgets(ledger, guard, compile_budgets(config))
    cc = config.cache
    if cc.enabled:
        from .cache import CacheStore, ResponseCache

        if cc.ttl <= 0 or cc.max_entries < 1:
            raise ConfigError("cache ttl and max_entries must be positive", path="cache")
        guard = _guard("cache", "cache", cc.storage, True, cc.storage_timeout)
        cache = ResponseCache(CacheStore(cc, redis.get(cc.storage, cc.storage_timeout)), guard, cc)
    return ConfiguredPolicy(config, limiting, budgets, cache)


def _no_token_rules() -> int:
    raise AssertionError("a policy that admits in place has no token rules to estimate for")


def _served_by(call: CallRecord) -> str | None:
    """The deployment id of the attempt that answered the call (ids as ``ModelConfig.deployment_id``)."""
    last = call.final_attempt
    if last is None or (last.status != 200 and last.usage is None):
        return None
    return f"{last.deployment}@{last.provider}/{last.upstream_model}"


class ConfiguredPolicy(Policy):
    """Rate limits, budgets and the response cache around every call."""

    def __init__(
        self,
        config: GatewayConfig,
        limiting: RateLimiting | None,
        budgets: Budgets | None,
        cache: ResponseCache | None,
    ) -> None:
        self.config = config
        self.limiting = limiting
        self.budgets = budgets
        self.cache = cache
        self._open: OrderedDict[int, CallAdmission] = OrderedDict()
        self._prices: dict[str, Price | None] = {}
        self._unpriced_warned: set[str] = set()

    # -- estimates ---------------------------------------------------------------------------------
    def price(self, deployment: Deployment) -> Price | None:
        """The deployment's price: its ``price`` in config, else the bundled table's."""
        if deployment.id not in self._prices:
            from .pricing import Price, PriceTable

            configured = deployment.model.price if deployment.model is not None else None
            if configured is not None:
                price: Price | None = Price(
                    configured.input, configured.output, configured.cached_input, configured.cache_write
                )
            else:
                info = PriceTable.bundled().lookup(deployment.upstream_model)
                price = info.price if info is not None else None
            self._prices[deployment.id] = price
        return self._prices[deployment.id]

    def output_cap(self, inbound: Inbound, deployment: Deployment | None) -> int:
        """Most output tokens this request may produce on ``deployment``."""
        from .pricing import PriceTable
        from .tokens import requested_output_tokens

        if inbound.operation == "embeddings":
            return 0
        model = deployment.model if deployment is not None else None
        default = self.config.default_max_tokens
        if deployment is not None and deployment.target_dialect(inbound.dialect) == "anthropic":
            default = (model.default_max_tokens if model else None) or default  # what the gateway sends
        elif model is not None and model.max_output_tokens:
            default = model.max_output_tokens
        elif deployment is not None:
            info = PriceTable.bundled().lookup(deployment.upstream_model)
            default = info.max_output_tokens if info is not None and info.max_output_tokens else default
        return requested_output_tokens(inbound.body, default=default)

    def _prompt_tokens(self, admission: CallAdmission, inbound: Inbound) -> int:
        if admission.prompt_tokens is None:
            from .tokens import estimate_prompt_tokens

            admission.prompt_tokens = estimate_prompt_tokens(inbound.body)
        return admission.prompt_tokens

    def worst_case_usd(self, inbound: Inbound, plan: Plan, admission: CallAdmission) -> float:
        """The most this call can cost on any deployment of the plan (unpriced ones count 0)."""
        from .pricing import worst_case_cost_usd

        prompt = self._prompt_tokens(admission, inbound)
        worst = 0.0
        for group in plan.groups:
            for deployment in group.deployments:
                price = self.price(deployment)
                if price is None:
                    self._warn_unpriced(deployment)
                    continue
                worst = max(worst, worst_case_cost_usd(prompt, self.output_cap(inbound, deployment), price))
        return worst

    def _warn_unpriced(self, deployment: Deployment) -> None:
        if deployment.id not in self._unpriced_warned:
            self._unpriced_warned.add(deployment.id)
            _log.warning(
                "llm-gateway-mw: no price known for %s, so budgets cannot count its calls; "
                "add price = {input = ..., output = ...} (USD per 1M tokens) to its [[models]] entry",
                deployment.id,
            )

    # -- the pipeline hooks ------------------------------------------------------------------------
    def admit(self, call: CallRecord, inbound: Inbound, plan: Plan) -> CoreGen[Admission | None]:
        admission = CallAdmission(call_id=id(call))
        remaining: int | None = None
        if self.limiting is not None:

            def tokens() -> int:
                caps = [self.output_cap(inbound, d) for g in plan.groups for d in g.deployments]
                cap = max(caps) if caps else self.output_cap(inbound, None)
                return self._prompt_tokens(admission, inbound) + cap

            remaining = yield from self._charge_rules(call, admission, tokens)
        if self.budgets is not None:
            try:
                worst = self.worst_case_usd(inbound, plan, admission)
                admission.hold = yield from self.budgets.reserve(call, worst)
            except GatewayRefusal:
                if self.limiting is not None:
                    yield from self.limiting.refund(call, admission.charges, requests_too=True)
                raise
        if self.limiting is not None:
            if remaining is not None:  # only an admitted call says what is left
                call.rate_limit_remaining = remaining
            if self.limiting.deployment_rules:  # deployment_admit finds the call's admission here
                self._open[id(call)] = admission
                if len(self._open) > _OPEN_CALLS_CAP:
                    self._open.popitem(last=False)
        return admission

    def _charge_rules(
        self, call: CallRecord, admission: CallAdmission, tokens: Callable[[], int]
    ) -> CoreGen[int | None]:
        """Charge the call's rate-limit rules onto ``admission``: the requests left, when known."""
        limiting = self.limiting
        assert limiting is not None
        charges = limiting.charges(call, limiting.rules, tokens)
        admission.charges, remaining = yield from limiting.acquire(call, charges, count=True)
        return remaining

    def admits_in_place(self) -> bool:
        limiting = self.limiting
        return (
            limiting is not None
            and self.budgets is None
            and self.cache is None
            and limiting.guard.local
            and not limiting.token_rules
            and not any(limiting.deployment_rules.values())
        )

    def admit_in_place(self, call: CallRecord) -> CallAdmission:
        admission = CallAdmission(call_id=id(call))
        remaining = run_local(self._charge_rules(call, admission, _no_token_rules))
        if remaining is not None:
            call.rate_limit_remaining = remaining
        return admission

    def limits_deployment(self, deployment: Deployment) -> bool:
        limiting = self.limiting
        return limiting is not None and bool(limiting.deployment_rules.get(deployment.id))

    def deployment_admit(self, call: CallRecord, inbound: Inbound, deployment: Deployment) -> CoreGen[bool]:
        limiting = self.limiting
        rules = limiting.deployment_rules.get(deployment.id) if limiting is not None else None
        if limiting is None or not rules:
            return True
        admission = self._open.get(id(call))
        if admission is None:
            return True

        def tokens() -> int:
            return self._prompt_tokens(admission, inbound) + self.output_cap(inbound, deployment)

        try:
            made, _ = yield from limiting.acquire(call, limiting.charges(call, rules, tokens))
        except RateLimitExceeded as refused:
            _log.debug("llm-gateway-mw: skipping %s: %s", deployment.id, refused.message)
            return False
        admission.deployment_charges.append((deployment.id, made))
        return True

    def settle(self, admission: Admission | None, call: CallRecord) -> CoreGen[None]:
        if not isinstance(admission, CallAdmission):
            return
        self._open.pop(admission.call_id, None)
        usage = call.usage
        limiting = self.limiting
        if limiting is not None and (limiting.token_rules or admission.deployment_charges):
            real = usage.total_tokens if usage is not None else None
            yield from limiting.settle(call, admission.charges, real)
            served = _served_by(call) if admission.deployment_charges else None
            for deployment_id, charges in admission.deployment_charges:
                if deployment_id == served:
                    yield from limiting.settle(call, charges, real)
                else:  # admitted, then failed or skipped: it consumed no tokens
                    yield from limiting.refund(call, charges)
        if self.budgets is not None:
            # No usage (a cut stream that never said): keep the worst case. No price: nothing to count.
            cost = call.cost_usd if call.cost_usd is not None else (0.0 if usage is not None else None)
            yield from self.budgets.settle(call, admission.hold, cost)

    def release(self, admission: Admission | None) -> CoreGen[None]:
        if not isinstance(admission, CallAdmission):
            return
        self._open.pop(admission.call_id, None)
        if self.limiting is not None:
            yield from self.limiting.refund(None, admission.charges)
            for _, charges in admission.deployment_charges:
                yield from self.limiting.refund(None, charges)
        if self.budgets is not None:
            yield from self.budgets.release(None, admission.hold)

    def caches(self) -> bool:
        return self.cache is not None

    def cache_lookup(self, call: CallRecord, inbound: Inbound) -> CoreGen[bytes | None]:
        if self.cache is None:
            return None
        return (yield from self.cache.lookup(call, inbound))

    def cache_store(self, call: CallRecord, inbound: Inbound, body: bytes) -> CoreGen[None]:
        if self.cache is not None:
            yield from self.cache.save(call, inbound, body)

    def wants_capture(self, call: CallRecord, inbound: Inbound) -> bool:
        return self.cache is not None and inbound.operation == "chat" and self.cache.wants(call, inbound)

    def cache_store_stream(self, call: CallRecord, inbound: Inbound, sse: bytes) -> CoreGen[None]:
        if self.cache is None:
            return
        from ..dialects.assemble import assemble

        try:
            body = assemble(inbound.dialect, sse)
        except (ValueError, TypeError, KeyError) as err:
            _log.debug("llm-gateway-mw: not caching a stream that cannot be assembled: %s", err)
            return
        usage = call.usage
        if inbound.dialect == "openai" and body.get("usage") is None and usage is not None:
            from ..dialects.wire_usage import openai_usage_payload

            body["usage"] = openai_usage_payload(usage)  # the app did not ask for it; a replay may
        yield from self.cache.save(call, inbound, json.dumps(body, separators=(",", ":")).encode())

    def replay_stream(self, inbound: Inbound, cached: bytes) -> bytes:
        from ..dialects.replay import replay

        options = inbound.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return replay(inbound.dialect, json.loads(cached), include_usage=include_usage)

    # -- inspection --------------------------------------------------------------------------------
    def budget_status(self, caller: Caller, model: str) -> list[BudgetStatus]:
        """Where each budget that applies to ``caller`` calling ``model`` stands now (sync read)."""
        return self.budgets.status(caller, model) if self.budgets is not None else []
