"""`import llm_gateway_mw` must not pull the SDKs, frameworks, Redis, `limits` or the OTLP exporters."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "openai",
    "anthropic",
    "fastapi",
    "starlette",
    "django",
    "flask",
    "redis",
    "limits",
    "opentelemetry.exporter",
    "opentelemetry.sdk",
    "uvicorn",
)


def loaded_after(code: str) -> list[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    modules: list[str] = json.loads(out.strip().splitlines()[-1])
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_import_package_is_light() -> None:
    assert loaded_after("import llm_gateway_mw") == []


def test_building_a_zero_config_gateway_stays_light() -> None:
    assert loaded_after("from llm_gateway_mw import Gateway\nGateway()") == []
