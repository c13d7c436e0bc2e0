"""Building the policy from config: nothing heavy is imported until something is configured."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.errors import ConfigError
from llm_gateway_mw.policy.admission import Policy
from llm_gateway_mw.policy.engine import ConfiguredPolicy

ROOT = Path(__file__).resolve().parents[2]
MOCK = {
    "providers": {"mock": {"type": "mock"}},
    "models": [{"name": "m", "provider": "mock", "model": "mock-large"}],
}


def test_import_and_zero_config_gateway_do_not_import_limits_or_redis() -> None:
    code = (
        "import sys, llm_gateway_mw\n"
        "from llm_gateway_mw import Gateway\n"
        "Gateway({'cache': {'enabled': False}})\n"
        "assert 'limits' not in sys.modules and 'redis' not in sys.modules, sorted(sys.modules)\n"
        "Gateway({'rate_limits': {'rules': [{'per': 'user', 'limit': '1/second'}]}})\n"
        "assert 'limits' in sys.modules and 'redis' not in sys.modules  # memory storage needs no redis\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_zero_config_keeps_the_plain_policy() -> None:
    assert type(Gateway(MOCK).runtime.policy) is Policy
    assert isinstance(Gateway({**MOCK, "cache": {"enabled": True}}).runtime.policy, ConfiguredPolicy)
    assert isinstance(
        Gateway({**MOCK, "models": [{**MOCK["models"][0], "limits": ["5/second"]}]}).runtime.policy,
        ConfiguredPolicy,
    )


def test_the_cache_stages_run_only_when_something_can_cache() -> None:
    class Remembers(Policy):  # a user's policy that caches by overriding the lookup alone
        def cache_lookup(self, call: Any, inbound: Any) -> Any:
            return b"{}"
            yield

    assert not Policy().caches() and Remembers().caches()
    limits_only = Gateway({**MOCK, "rate_limits": {"rules": [{"per": "user", "limit": "5/second"}]}})
    assert limits_only.runtime.policy_active and not limits_only.runtime.policy_caches
    assert Gateway({**MOCK, "cache": {"enabled": True}}).runtime.policy_caches
    assert not Gateway(MOCK).runtime.policy_caches


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"cache": {"enabled": True, "ttl": 0}}, "cache ttl and max_entries must be positive"),
        (
            {"budgets": {"storage_timeout": 0, "rules": [{"per": "user", "usd": 1}]}},
            "storage_timeout must be positive",
        ),
        (
            {"budgets": {"storage": "sqlite:///x", "rules": [{"per": "user", "usd": 1}]}},
            r"budgets\.storage: unsupported",
        ),
    ],
)
def test_bad_policy_settings_are_config_errors(section: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Gateway(section)


def test_sync_and_async_clients_of_one_gateway_share_a_memory_limit() -> None:
    gateway = Gateway({**MOCK, "rate_limits": {"rules": [{"per": "user", "limit": "3/minute"}]}})
    sync = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    aio = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    with gateway.caller(user="u"):
        sync.chat.completions.create(model="m", messages=messages)
        asyncio.run(aio.chat.completions.create(model="m", messages=messages))
        sync.chat.completions.create(model="m", messages=messages)
        with pytest.raises(openai.RateLimitError):
            asyncio.run(aio.chat.completions.create(model="m", messages=messages))


def test_every_policy_key_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        """
[providers.mock]
type = "mock"

[[models]]
name = "chat"
provider = "mock"
model = "mock-large"
limits = ["500/minute", "200000 tokens/minute"]

[rate_limits]
storage = "memory://"
strategy = "sliding-window-counter"
fail_open = false
storage_timeout = 0.25
key_prefix = "shop"

[[rate_limits.rules]]
per = "tenant"
limit = "60/minute"

[[rate_limits.rules]]
per = "user"
limit = "20000/hour"
unit = "tokens"

[budgets]
storage = "memory://"

[[budgets.rules]]
per = "tenant"
usd = 25.0
period = "month"

[cache]
enabled = true
ttl = 300
max_entries = 50
scope = "user"
max_temperature = 0.3

[[keys]]
name = "ci"
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
rate_limits = ["10/minute"]
budget_usd = 1.5
budget_period = "week"
""",
        encoding="utf-8",
    )
    policy = Gateway.from_file(path).runtime.policy
    assert isinstance(policy, ConfiguredPolicy)
    assert policy.limiting is not None and policy.budgets is not None and policy.cache is not None
    assert [(r.per, r.unit, r.item.amount) for r in policy.limiting.rules] == [
        ("tenant", "requests", 60),
        ("user", "tokens", 20000),
        ("key", "requests", 10),
    ]
    [deployment_rules] = policy.limiting.deployment_rules.values()
    assert [(r.unit, r.item.amount) for r in deployment_rules] == [("requests", 500), ("tokens", 200000)]
    assert [(b.per, b.usd, b.period) for b in policy.budgets.limits] == [
        ("tenant", 25.0, "month"),
        ("key", 1.5, "week"),
    ]
    assert policy.limiting.store.strategy == "sliding-window-counter" and not policy.limiting.guard.fail_open
