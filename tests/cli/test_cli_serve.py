"""``serve``: the endpoint as a real uvicorn server, driven by the real SDKs over loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llm_gateway_mw.cli.keys import key_hash
from llm_gateway_mw.cli.serve import StatusMount, is_loopback
from tests.cli.conftest import REPO, cli_env, one_line_error, run_cli, run_main

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.skipif(
    not hasattr(__import__("llm_gateway_mw.gateway").gateway.Gateway, "asgi_app"),
    reason="no gateway.asgi_app()",
)


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, list[str]]]:
    """``serve --port 0 ...`` in a subprocess: its base URL and banner; stopped with Ctrl-C after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_gateway_mw.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO,
    )  # fmt: skip
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    banner: list[str] = []
    try:
        assert process.stdout is not None and process.stderr is not None
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C to stop."):
                break
        assert banner and banner[0].startswith("Serving the gateway on "), (
            "\n".join(banner) + process.stderr.read()
        )
        yield banner[0].removeprefix("Serving the gateway on "), banner
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        finally:
            watchdog.cancel()
            process.kill()
        assert code == 0, process.stderr.read() if process.stderr else ""


def test_serve_without_config_serves_mock_models_to_both_sdks() -> None:
    with serving() as (base, banner):
        text = "\n".join(banner)
        assert "No --config: these are built-in mock models" in text
        assert "[providers.openai]" in text and "llm-gateway-mw check gateway.toml" in text
        assert (
            f'OpenAI(base_url="{base}/v1", api_key="any-key")' in text
            and f"{base}/llm-gateway/ (loopback clients only)" in text
        )
        oai = openai.OpenAI(base_url=f"{base}/v1", api_key="anything", max_retries=0)
        completion = oai.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi there"}]
        )
        assert completion.choices[0].message.content == "[mock gpt-4o-mini] You said: hi there"
        assert [m.id for m in oai.models.list()][:2] == ["gpt-4o-mini", "gpt-4o"]
        claude = anthropic.Anthropic(base_url=base, api_key="anything", max_retries=0)
        message = claude.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hey"}]
        )
        assert message.content[0].type == "text" and "You said: hey" in message.content[0].text
        page = httpx.get(f"{base}/llm-gateway/")
        assert page.status_code == 200 and "llm-gateway-mw" in page.text
        status = httpx.get(f"{base}/llm-gateway/status.json").json()
        assert status["summary"]["calls"] == 2
        assert httpx.get(f"{base}/llm-gateway", follow_redirects=False).headers["location"] == "/llm-gateway/"


def test_serve_with_config_requires_gateway_keys(tmp_path: Path) -> None:
    key = "gw_test-key-for-serve"
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[providers.m]\ntype = "mock"\n[[models]]\nname = "gpt-4o"\nprovider = "m"\n'
        f'[[keys]]\nname = "tests"\nhash = "{key_hash(key)}"\n'
    )
    with serving("--config", str(config), "--status", "off") as (base, banner):
        assert not any("status page" in line for line in banner)
        anonymous = openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            anonymous.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        keyed = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
        reply = keyed.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "[mock gpt-4o] You said: hi"
        assert httpx.get(f"{base}/llm-gateway/").status_code != 200  # not mounted: the endpoint's 404/401


def test_serve_warns_when_a_config_has_no_keys(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[providers.m]\ntype = "mock"\n[[models]]\nname = "gpt-4o"\nprovider = "m"\n')
    with serving("--config", str(config)) as (_, banner):
        assert any("has no [[keys]]: every call will be refused with 401" in line for line in banner)


def test_serve_bad_inputs_fail_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "gateway.toml"
    bad.write_text('[[models]]\nname = "x"\nprovider = "nowhere"\n')
    code, _, err = run_main("serve", "--config", str(bad))
    assert code == 1 and "models[0].provider: provider 'nowhere' is not declared" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = one_line_error(run_cli("serve", "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line
    code, _, err = run_main("serve", "--host", "no such host.invalid")
    assert code == 1 and "cannot resolve --host" in err and len(err.splitlines()) == 1


async def test_status_mount_routes_by_prefix() -> None:
    seen: list[tuple[str, str, str]] = []

    def app(name: str) -> Any:
        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            seen.append((name, scope["path"], scope.get("root_path", "")))
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return asgi

    mount = StatusMount(app("endpoint"), app("status"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mount), base_url="http://t") as client:
        for path in ("/v1/chat/completions", "/llm-gateway/status.json", "/llm-gateway", "/llm-gatewayx"):
            await client.get(path)
    assert seen == [
        ("endpoint", "/v1/chat/completions", ""),
        ("status", "/llm-gateway/status.json", "/llm-gateway"),
        ("status", "/llm-gateway", "/llm-gateway"),
        ("endpoint", "/llm-gatewayx", ""),
    ]


@pytest.mark.parametrize(
    ("client", "local"),
    [
        (("127.0.0.1", 5), True),
        (("127.8.0.1", 5), True),
        (("::1", 5), True),
        (("10.0.0.2", 5), False),
        (None, False),
    ],
)
def test_is_loopback(client: Any, local: bool) -> None:
    assert is_loopback({"client": client}) is local
