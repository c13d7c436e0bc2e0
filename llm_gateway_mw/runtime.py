"""Shared state of one gateway: deployments, their health, upstream clients, telemetry and policy.

The pipeline and the attempt loop call into this object for everything that is state
rather than decision: which deployments a name has, their circuit state, which client
reaches them, and the bookkeeping of attempts (records, spans, health).
"""

from __future__ import annotations

import os
import random
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from .binding import Binding
from .capabilities import capabilities_of, capability_problem
from .config.schema import GatewayConfig
from .context import current_call_context
from .effects import Upstream
from .errors import UnknownModelError
from .headers import raw_header
from .policy.admission import Policy
from .policy.pricing import Price, cost_usd
from .providers.deployment import Deployment, passthrough_deployment
from .records import AttemptRecord, CallRecord
from .routing.health import DeploymentHealth
from .routing.plan import Classifier, Plan, PlanGroup, make_plan
from .routing.strategies import order_deployments

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .inbound import Inbound
    from .policy.pricing import ModelInfo
    from .usage import Usage

__all__ = ["Binding", "Runtime", "record_plan"]  # Binding: re-exported from .binding


def record_plan(call: CallRecord, plan: Plan, model: str) -> None:
    """Put the routing decision on the call record (route, strategy, reason)."""
    call.route = plan.route or model
    call.strategy, call.decision_reason = plan.strategy, plan.reason


class Summary(Protocol):
    usage: Usage | None
    response_id: str | None
    response_model: str | None
    finish_reasons: list[str]


class Runtime:
    """Everything the decision core reads or updates while serving calls."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        telemetry: Any,
        policy: Policy | None = None,
        classifier: Classifier | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = config
        self.telemetry = telemetry
        self.telemetry_on = config.telemetry.enabled
        self.propagate_traceparent = config.telemetry.propagate_traceparent
        self.policy = policy or Policy()
        self.policy_active = type(self.policy) is not Policy
        self.policy_caches = self.policy.caches()  # else the pipeline skips the cache stages
        # Nothing to check before a call's first request (no limits, budgets or cache): the common whole
        # call is begun and completed by plain functions (``express``), with no effect round trip.
        self.express = not self.policy_active and not self.policy_caches
        # A passthrough call seen before takes the express lane also when the policy admits it in place.
        self.lane = self.express or (not self.policy_caches and self.policy.admits_in_place())
        self.retry_timeout = config.retry.timeout
        self.rng = random.Random(seed)
        self._classifier = classifier
        self.deployments: dict[str, list[Deployment]] = {}
        for model in config.models:
            deployment = Deployment.from_config(model, config.providers[model.provider])
            self.deployments.setdefault(model.name, []).append(deployment)
        self._health: dict[str, DeploymentHealth] = {}
        self._upstreams: dict[tuple[str, str], Upstream] = {}
        self._passthrough: dict[tuple[str, str], tuple[Deployment, Plan | None]] = {}
        self._info: dict[str, ModelInfo | None] = {}
        self._prices: dict[str, Price | None] = {}
        self._fixed_plans: dict[str, Plan] = {}
        self._capabilities: dict[str, tuple[bool | None, bool | None, int | None]] = {}
        self.recent: deque[CallRecord] = deque(maxlen=200)
        self._id_head = f"gw-{os.urandom(4).hex()}-"  # then a counter: unique per gateway
        self._id_counter = 0

    # -- routing -------------------------------------------------------------------------------
    def classify(self, body: Any, tiers: int) -> Any:
        if self._classifier is None:
            from .routing.complexity import classify

            self._classifier = lambda b, n: classify(b, tiers=n)
        return self._classifier(body, tiers)

    def order(self, deployments: Sequence[Deployment], strategy: str) -> list[Deployment]:
        return order_deployments(deployments, strategy, self.health, self.unit_price, self.rng)

    def plan(self, binding: Binding, inbound: Inbound, call: CallRecord) -> Plan:
        """The deployments to try, in order; undeclared models go to the client's own upstream."""
        model = inbound.model
        plan = self._fixed_plans.get(model)
        if plan is not None:
            pass
        elif model in self.deployments or model in self.config.routes:
            plan = make_plan(self.config, self.deployments, model, inbound.body, self.order, self.classify)
            if plan.route is None and all(len(group.deployments) == 1 for group in plan.groups):
                self._fixed_plans[model] = plan  # nothing to order or classify: the same plan every call
        elif self.config.strict or binding.strict or binding.passthrough is None:
            raise UnknownModelError(model, self.config.model_names())
        else:
            cached = self._passthrough.get((binding.base_url, model))
            if cached is not None and cached[1] is not None:
                plan = cached[1]  # no fallback chain: the plan never changes, so it is built once
            else:
                plan = self._passthrough_plan(binding, model, cached)
        record_plan(call, plan, model)
        return plan

    def ready_plan(self, binding: Binding, model: str) -> Plan | None:
        """The model's plan when it is the same every call and already built, else None (``plan`` decides)."""
        plan = self._fixed_plans.get(model)
        if plan is not None:
            return plan
        if binding.strict or binding.passthrough is None or self.config.strict:
            return None
        cached = self._passthrough.get((binding.base_url, model))  # only undeclared models are cached here
        return cached[1] if cached is not None else None

    def _passthrough_plan(
        self, binding: Binding, model: str, cached: tuple[Deployment, Plan | None] | None
    ) -> Plan:
        """The client's own upstream, then the model's fallback chain (ordered afresh each call).

        ``cached``: what ``_passthrough`` holds for the model (its deployment, and its plan when it
        has no fallback chain, which ``plan`` then reuses without calling this).
        """
        key = (binding.base_url, model)
        deployment = (
            cached[0]
            if cached is not None
            else passthrough_deployment(model, binding.dialect, binding.base_url)
        )
        plan = Plan(groups=[PlanGroup(model, [deployment])], reason="passthrough")
        chain = self.config.fallbacks.get(model, self.config.fallbacks.get("*", ()))
        for name in chain:
            plan.groups.append(
                PlanGroup(
                    name,
                    self.order(self.deployments[name], self.config.routing.strategy),
                    fallback_from=model,
                )
            )
        if cached is None and len(self._passthrough) < 1000:
            self._passthrough[key] = (deployment, None if chain else plan)
        return plan

    def upstream_for(self, deployment: Deployment, binding: Binding) -> Upstream:
        if deployment.passthrough:
            assert binding.passthrough is not None
            return binding.passthrough
        key = (deployment.provider_name, binding.module.__name__)
        upstream = self._upstreams.get(key)
        if upstream is None:
            assert deployment.provider is not None
            if deployment.provider_type == "mock":
                from .providers.mock import MockUpstream

                upstream = MockUpstream(deployment.provider)
            else:
                from .upstream.http import HttpUpstream

                upstream = HttpUpstream(binding.module, owns_clients=True)
            self._upstreams[key] = upstream
        return upstream

    # -- capabilities and prices ---------------------------------------------------------------
    def model_info(self, deployment: Deployment) -> ModelInfo | None:
        if deployment.id not in self._info:
            from .policy.pricing import PriceTable

            self._info[deployment.id] = PriceTable.bundled().lookup(deployment.upstream_model)
        return self._info[deployment.id]

    def price(self, deployment: Deployment) -> Price | None:
        """The deployment's price: its ``price`` in config, else the bundled table's (looked up once)."""
        try:
            return self._prices[deployment.id]
        except KeyError:
            pass
        price: Price | None
        if deployment.model is not None and deployment.model.price is not None:
            p = deployment.model.price
            price = Price(
                input=p.input, output=p.output, cached_input=p.cached_input, cache_write=p.cache_write
            )
        else:
            info = self.model_info(deployment)
            price = info.price if info is not None else None
        if len(self._prices) < 10_000:  # passthrough deployments are per model name: bound the cache
            self._prices[deployment.id] = price
        return price

    def unit_price(self, deployment: Deployment) -> float | None:
        price = self.price(deployment)
        return None if price is None else float(price.input + price.output)

    def capabilities(self, deployment: Deployment) -> tuple[bool | None, bool | None, int | None]:
        """(tools supported, images supported, context window) of a deployment (looked up once)."""
        known = self._capabilities.get(deployment.id)
        if known is None:
            known = (
                *capabilities_of(deployment, self.model_info(deployment)),
                self.context_window(deployment),
            )
            self._capabilities[deployment.id] = known
        return known

    def context_window(self, deployment: Deployment) -> int | None:
        if deployment.model is not None and deployment.model.context_window:
            return deployment.model.context_window
        info = self.model_info(deployment)
        return info.context_window if info is not None else None

    def default_max_tokens(self, deployment: Deployment) -> int:
        if deployment.model is not None and deployment.model.default_max_tokens:
            return deployment.model.default_max_tokens
        return self.config.default_max_tokens

    def drop_unsupported(self, deployment: Deployment) -> bool:
        return deployment.model is not None and deployment.model.drop_unsupported

    def precheck(self, deployment: Deployment, inbound: Inbound, context_floor: int | None) -> str | None:
        """Why a deployment cannot take this request (capability pre-checks), or None."""
        reason = deployment.can_serve(inbound.operation, inbound.dialect)
        if reason or deployment.passthrough:
            return reason
        return capability_problem(self, deployment, inbound, context_floor)

    def health(self, deployment: Deployment) -> DeploymentHealth:
        health = self._health.get(deployment.id)
        if health is None:
            breaker = self.config.circuit_breaker
            health = DeploymentHealth(failures_to_open=breaker.failures, cooldown=breaker.cooldown)
            self._health[deployment.id] = health
        return health

    # -- bookkeeping -----------------------------------------------------------------------------
    def new_request_id(self) -> str:
        self._id_counter += 1
        return f"{self._id_head}{self._id_counter}"

    def new_attempt(
        self, call: CallRecord, deployment: Deployment, fallback_from: str | None
    ) -> AttemptRecord:
        name, provider, kind, upstream_model, address, port = deployment.attempt_facts
        attempt = AttemptRecord(
            len(call.attempts) + 1,
            name,
            provider,
            kind,
            upstream_model,
            call.operation,
            address,
            port,
            fallback_from,
            time.perf_counter(),
        )
        call.attempts.append(attempt)
        if self.telemetry_on:
            self.telemetry.start_attempt(call, attempt)
        return attempt

    def inject_traceparent(self, attempt: AttemptRecord, headers: Any) -> None:
        """Send the attempt span's W3C trace context upstream (``[telemetry] propagate_traceparent``).

        ``headers``: a request's headers as httpx stores them, or the SDK's own headers object (passthrough).
        """
        carrier: dict[str, str] = {}
        self.telemetry.inject_traceparent(attempt, carrier)
        if isinstance(headers, list):
            headers.extend(raw_header(name, value) for name, value in carrier.items())
        else:
            headers.update(carrier)

    def fail_attempt(
        self,
        call: CallRecord,
        attempt: AttemptRecord,
        deployment: Deployment,
        status: int,
        failure: str | None,
        why: str,
        *,
        counts_against_health: bool,
    ) -> None:
        attempt.ended = time.perf_counter()
        attempt.status = status or None
        attempt.error_type = str(status) if status else failure or "_OTHER"
        attempt.error_message = why
        health = self.health(deployment)
        if counts_against_health:
            health.record_failure(time.monotonic(), why)
        else:
            health.release_probe()
        self.telemetry.end_attempt(call, attempt)

    def succeed_attempt(
        self, call: CallRecord, attempt: AttemptRecord, deployment: Deployment, summary: Summary | None
    ) -> None:
        """Record a success; ``summary`` None: ``attempt.usage`` and ``attempt.pending`` are already set."""
        attempt.ended = time.perf_counter()
        attempt.status = 200
        if summary is not None:
            attempt.usage = summary.usage
            attempt.response_id = summary.response_id
            attempt.response_model = summary.response_model
            attempt.finish_reasons = summary.finish_reasons
        latency = (attempt.first_chunk_at or attempt.ended) - attempt.started
        (self._health.get(deployment.id) or self.health(deployment)).record_success(latency)
        if attempt.usage is not None:
            self._account_cost(call, deployment, attempt.usage)
        if self.telemetry_on:
            self.telemetry.end_attempt(call, attempt)

    def cut_attempt(
        self, call: CallRecord, attempt: AttemptRecord, deployment: Deployment, summary: Summary, why: str
    ) -> None:
        """A stream that ended early: charged for what it used, reported with finish reason 'error'."""
        attempt.ended = time.perf_counter()
        attempt.usage = summary.usage
        attempt.response_id = summary.response_id
        attempt.response_model = summary.response_model
        attempt.finish_reasons = ["error"]
        attempt.error_type = "stream_interrupted"
        attempt.error_message = why
        call.error_type = attempt.error_type
        if "caller" not in why:
            self.health(deployment).record_failure(time.monotonic(), why)
        self._account_cost(call, deployment, summary.usage)
        self.telemetry.end_attempt(call, attempt)

    def _account_cost(self, call: CallRecord, deployment: Deployment, usage: Usage | None) -> None:
        if usage is None:
            return
        price = self._prices.get(deployment.id) or self.price(deployment)
        if price is None:
            return
        call.cost_usd = (call.cost_usd or 0.0) + cost_usd(usage, price)

    def end_call(self, call: CallRecord) -> None:
        call.ended = time.perf_counter()
        tally = current_call_context().tally  # the web request's usage, when a middleware counts it
        if tally is not None:
            tally.add(call)
        if self.telemetry_on:
            self.telemetry.end_call(call)
        call.request_body = call.response_body = None  # content never outlives the call (status page, memory)
        self.recent.append(call)
