"""The examples under real server processes on 127.0.0.1 (ephemeral ports), one test per server.

uvicorn serves FastAPI and Django (ASGI); gunicorn serves Flask and Django (WSGI, threaded
workers). With ``LLM_GATEWAY_MW_ALL_SERVERS=1``, uvicorn also serves Flask through WsgiToAsgi,
and daphne and ``runserver`` serve Django (the same code paths, so off by default). Each server
gets a socket this process already bound and listens on, so there is no port race and no
polling for readiness: the first request waits in the backlog until the server accepts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import pytest

from .support import EXAMPLES, ServerProcess, serve, server_env

TIMEOUT = httpx2.Timeout(60.0)
FASTAPI_DIR = EXAMPLES / "fastapi_app"
FLASK_DIR = EXAMPLES / "flask_app"
DJANGO_DIR = EXAMPLES / "django_project"
CONSOLE = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}
extra_server = pytest.mark.skipif(
    os.environ.get("LLM_GATEWAY_MW_ALL_SERVERS") != "1",
    reason="a further server for the same code path; set LLM_GATEWAY_MW_ALL_SERVERS=1 to run it",
)


def _wait_for(server: ServerProcess, text: str) -> None:
    """Wait until the server printed ``text`` (batched console spans); fails with its output."""
    deadline = time.monotonic() + 30
    while text not in server.output():
        if time.monotonic() > deadline or server.process.poll() is not None:
            pytest.fail(f"{text!r} never appeared in the server output:\n{server.output()[-4000:]}")
        time.sleep(0.05)


def _run(server: ServerProcess, checks: Callable[[str], None]) -> None:
    try:
        checks(server.url)
    except BaseException:
        print(server.stop()[-4000:], file=sys.stderr)
        raise
    output = server.stop()
    assert "Traceback" not in output, output[-4000:]


def _notes(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "content-type": "application/json"}


def test_fastapi_example_under_uvicorn(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    server = serve(
        ["uvicorn", "support_api:app", "--app-dir", str(FASTAPI_DIR), "--log-level", "warning"],
        ["--fd", "{fd}"],
        cwd=FASTAPI_DIR,
        env=server_env(FASTAPI_DIR, **CONSOLE),
        log=tmp_path / "uvicorn.log",
    )

    def checks(url: str) -> None:
        alice = {"authorization": "Bearer tok-alice"}
        draft = httpx2.post(f"{url}/tickets/2/draft", json={}, headers=alice, timeout=TIMEOUT)
        assert draft.status_code == 200 and draft.json()["agent"] == "alice"
        assert draft.headers["x-llm-gateway-calls"] == "1"
        with httpx2.stream("POST", f"{url}/tickets/1/summary", headers=alice, timeout=TIMEOUT) as streamed:
            text = "".join(streamed.iter_text())
        assert text.startswith("[mock gpt-4o-mini] You said: Summarise")
        bot = openai.OpenAI(api_key="gw_demo_support_bot", base_url=f"{url}/llm/v1", max_retries=0)
        chunks = bot.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "route me"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("[mock")
        status = httpx2.get(f"{url}/llm-gateway/status.json", timeout=TIMEOUT)  # open to 127.0.0.1
        assert status.status_code == 200 and status.json()["summary"]["calls"] >= 3
        _wait_for(server, '"name": "POST /tickets/{ticket_id}/draft"')  # the request's SERVER span
        _wait_for(server, '"gen_ai.request.model": "gpt-4o"')  # an inference span inside it

    _run(server, checks)


def _flask_checks(url: str) -> None:
    dana, eli = {"authorization": "Bearer tok-dana"}, {"authorization": "Bearer tok-eli"}

    def ask(headers: dict[str, str]) -> httpx2.Response:
        return httpx2.post(f"{url}/ask", json={"question": "Invoices?"}, headers=headers, timeout=TIMEOUT)

    with ThreadPoolExecutor(8) as pool:  # concurrent requests on a threaded server keep their callers
        answers = list(pool.map(ask, [dana, eli] * 4))
    assert [a.json()["member"] for a in answers] == ["dana", "eli"] * 4
    assert {a.headers["x-llm-gateway-calls"] for a in answers} == {"1"}
    streamed = httpx2.post(
        f"{url}/ask/stream", json={"question": "Passwords?"}, headers=dana, timeout=TIMEOUT
    )
    assert streamed.text.startswith("[mock gpt-4o-mini] You said")
    translated = httpx2.post(f"{url}/translate", json={"question": "hi"}, headers=eli, timeout=TIMEOUT)
    assert translated.json() == {
        "member": "eli",
        "translation": "[mock claude-haiku] You said: To French: hi",
    }


def test_flask_example_under_gunicorn(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    pytest.importorskip("gunicorn")
    server = serve(
        [
            "gunicorn",
            "--chdir",
            str(FLASK_DIR),
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "4",
            "help_centre:app",
        ],
        ["--bind", "fd://{fd}"],
        cwd=FLASK_DIR,
        env=server_env(FLASK_DIR, **CONSOLE),
        log=tmp_path / "gunicorn.log",
    )

    def checks(url: str) -> None:
        _flask_checks(url)
        _wait_for(server, '"name": "POST /ask"')

    _run(server, checks)


@extra_server  # WsgiToAsgi itself is exercised in-process (test_flask, test_examples)
def test_flask_example_under_uvicorn_via_wsgi_to_asgi(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    server = serve(
        ["uvicorn", "help_centre:asgi_app", "--app-dir", str(FLASK_DIR), "--log-level", "warning"],
        ["--fd", "{fd}"],
        cwd=FLASK_DIR,
        env=server_env(FLASK_DIR),
        log=tmp_path / "uvicorn.log",
    )
    _run(server, _flask_checks)


def _django_checks(url: str) -> None:
    notes = json.dumps({"notes": "Frank will draft the Q3 roadmap; Grace reviews it on Monday."})
    frank, grace = _notes("tok-frank"), _notes("tok-grace")

    def summarise(headers: dict[str, str]) -> httpx2.Response:
        return httpx2.post(f"{url}/api/summaries/", content=notes, headers=headers, timeout=TIMEOUT)

    with ThreadPoolExecutor(6) as pool:
        summaries = list(pool.map(summarise, [frank, grace] * 3))
    assert [s.json()["member"] for s in summaries] == ["frank", "grace"] * 3
    assert {s.headers["x-llm-gateway-calls"] for s in summaries} == {"1"}
    items = httpx2.post(f"{url}/api/action-items/", content=notes, headers=grace, timeout=TIMEOUT)
    assert items.json()["member"] == "grace"
    streamed = httpx2.post(f"{url}/api/summaries/stream/", content=notes, headers=frank, timeout=TIMEOUT)
    assert streamed.text.startswith("[mock gpt-4o-mini] You said")
    assert httpx2.post(f"{url}/api/summaries/", content=notes, timeout=TIMEOUT).status_code == 401


def test_django_example_under_gunicorn(tmp_path: Path) -> None:
    pytest.importorskip("django")
    pytest.importorskip("gunicorn")
    server = serve(
        [
            "gunicorn",
            "--chdir",
            str(DJANGO_DIR),
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "4",
            "notes_site.wsgi",
        ],
        ["--bind", "fd://{fd}"],
        cwd=DJANGO_DIR,
        env=server_env(DJANGO_DIR, **CONSOLE),
        log=tmp_path / "gunicorn.log",
    )

    def checks(url: str) -> None:
        _django_checks(url)
        _wait_for(server, '"name": "POST api/summaries/"')

    _run(server, checks)


def test_django_example_under_uvicorn(tmp_path: Path) -> None:
    pytest.importorskip("django")
    server = serve(
        ["uvicorn", "notes_site.asgi:application", "--app-dir", str(DJANGO_DIR), "--log-level", "warning"],
        ["--fd", "{fd}"],
        cwd=DJANGO_DIR,
        env=server_env(DJANGO_DIR),
        log=tmp_path / "uvicorn.log",
    )
    _run(server, _django_checks)


@extra_server  # the same Django ASGI handler as under uvicorn
def test_django_example_under_daphne(tmp_path: Path) -> None:
    pytest.importorskip("django")
    pytest.importorskip("daphne")
    server = serve(
        ["daphne", "-v", "0", "notes_site.asgi:application"],
        ["--fd", "{fd}"],
        cwd=DJANGO_DIR,
        env=server_env(DJANGO_DIR),
        log=tmp_path / "daphne.log",
    )
    _run(server, _django_checks)


@extra_server  # the same Django WSGI handler as under gunicorn
def test_django_example_under_runserver(tmp_path: Path) -> None:
    """runserver cannot take a socket: pick a free port, then wait until it answers."""
    pytest.importorskip("django")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    log = tmp_path / "runserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=DJANGO_DIR,
            env=server_env(DJANGO_DIR),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"{server.url}/health/", timeout=5).status_code == 200:
                break
        except httpx2.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"runserver did not start:\n{server.stop()}")
            time.sleep(0.05)
    _run(server, _django_checks)
