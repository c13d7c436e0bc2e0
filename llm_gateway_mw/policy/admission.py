"""Admission control: rate limits, budgets and the response cache around one call.

``Policy`` is the stage object the pipeline calls; its methods are effect generators so
the same code runs on ``limits`` from sync clients and on ``limits.aio`` from async ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..drivers import CoreGen
    from ..inbound import Inbound
    from ..providers.deployment import Deployment
    from ..records import CallRecord
    from ..routing.plan import Plan

__all__ = ["Admission", "Policy", "run_local"]

T = TypeVar("T")


@dataclass(slots=True)
class Admission:
    """What a call reserved before it was sent, to settle or release afterwards."""

    reservations: list[Any] = field(default_factory=list)


class Policy:
    """No limits, no budgets, no cache: the zero-config policy."""

    def admit(self, call: CallRecord, inbound: Inbound, plan: Plan) -> CoreGen[Admission | None]:
        return None
        yield

    def admits_in_place(self) -> bool:
        """Can ``admit_in_place`` admit every call? (Request rules alone, on in-process stores.)

        The express lane then serves calls under this policy: admitted in place, settled in
        place (``run_local``), with no effect round trip through a driver.
        """
        return False

    def admit_in_place(self, call: CallRecord) -> Admission | None:
        """``admit`` for a policy that ``admits_in_place``: raises the refusal, as ``admit`` does."""
        raise NotImplementedError("this policy does not admit calls in place")

    def deployment_admit(self, call: CallRecord, inbound: Inbound, deployment: Deployment) -> CoreGen[bool]:
        """May this deployment take the call under its own ``limits``? False skips it like unhealthy."""
        return True
        yield

    def limits_deployment(self, deployment: Deployment) -> bool:
        """Does ``deployment_admit`` check anything for this deployment? (False: it always admits.)

        A subclass that overrides ``deployment_admit`` alone is asked on every call.
        """
        return type(self).deployment_admit is not Policy.deployment_admit

    def caches(self) -> bool:
        """Do ``cache_lookup`` and ``cache_store`` do anything? (False: the pipeline skips them.)

        A subclass that overrides either is asked on every call.
        """
        cls = type(self)
        return cls.cache_lookup is not Policy.cache_lookup or cls.cache_store is not Policy.cache_store

    def settle(self, admission: Admission | None, call: CallRecord) -> CoreGen[None]:
        return None
        yield

    def release(self, admission: Admission | None) -> CoreGen[None]:
        return None
        yield

    def cache_lookup(self, call: CallRecord, inbound: Inbound) -> CoreGen[bytes | None]:
        return None
        yield

    def cache_store(self, call: CallRecord, inbound: Inbound, body: bytes) -> CoreGen[None]:
        return None
        yield

    def wants_capture(self, call: CallRecord, inbound: Inbound) -> bool:
        """Should a streamed reply be kept (in the caller's dialect) to store in the cache?"""
        return False

    def cache_store_stream(self, call: CallRecord, inbound: Inbound, sse: bytes) -> CoreGen[None]:
        return None
        yield

    def replay_stream(self, inbound: Inbound, cached: bytes) -> bytes:
        """A cached whole reply rendered as the caller's dialect's SSE stream."""
        raise NotImplementedError("the zero-config policy has no cache")


def run_local(core: CoreGen[T]) -> T:
    """Run a policy step whose stores are all in-process: it finishes without yielding an effect."""
    try:
        effect = core.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    core.close()
    raise RuntimeError(f"llm-gateway-mw: a policy step meant to run in place asked for {effect!r}")
