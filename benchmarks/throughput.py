"""Throughput of the mountable endpoint (``gateway.asgi_app()``) on one worker, and LiteLLM's proxy.

Three processes on 127.0.0.1: the server (uvicorn, one worker, one event loop), the load
generator (``python -m benchmarks.throughput load``: an asyncio HTTP/1.1 keep-alive
client with C connections, each sending POST /v1/chat/completions back to back for a
fixed time after a warm-up), and, for the loopback rows, the canned upstream. Reported:
requests/s, p50/p99 latency, errors, and the server's CPU use in cores (utime+stime over the
run), from which requests/s per fully used core is derived: the load generator and the
upstream compete for the same cores, so raw requests/s understates one core's capacity. The machine has 2 cores, shared by all of them.

The endpoint authenticates the load generator's gateway key (``[[keys]]``, as deployed).
Rows: the endpoint with its model's provider answered in-process by the same canned mock
(the target row), the endpoint over the loopback upstream, and LiteLLM's proxy over the
same loopback upstream (it cannot take an in-process mock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from .common import Section, median, percentile

__all__ = ["endpoint_problem", "run_throughput"]

BODY = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello to the benchmark, briefly."}],
    }
).encode()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def endpoint_problem() -> str | None:
    """None when ``Gateway(...).asgi_app()`` exists; else why the endpoint rows are skipped."""
    try:
        from llm_gateway_mw import Gateway
    except Exception as exc:  # pragma: no cover
        return f"llm_gateway_mw does not import: {exc}"
    if not callable(getattr(Gateway, "asgi_app", None)):
        return "Gateway.asgi_app() does not exist yet (the mountable endpoint is being built)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- load generator -----------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length >= 0:
        await reader.readexactly(length)
    return status


async def _worker(port: int, stop_at: float, warm_until: float, lat: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer sk-bench\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)
    )
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            writer.write(request)
            status = await _read_response(reader)
            end = time.perf_counter()
            if start >= warm_until:
                lat.append((end - start) * 1e6)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


async def load(port: int, seconds: float, connections: int, warmup: float) -> dict[str, Any]:
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    lat: list[float] = []
    errors: list[int] = []
    await asyncio.gather(*(_worker(port, stop_at, warm_until, lat, errors) for _ in range(connections)))
    return {
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "p50_us": median(lat),
        "p99_us": percentile(lat, 99),
        "errors": len(errors),
        "error_statuses": sorted(set(errors))[:5],
        "connections": connections,
        "seconds": seconds,
    }


# -- servers --------------------------------------------------------------------------------------


def serve_endpoint(port: int, upstream: str) -> None:
    """Run ``Gateway(config).asgi_app()`` under uvicorn, one worker (child-process entry point)."""
    import hashlib

    import uvicorn

    from .setups import build_gateway, gateway_config, inject_mock_upstreams

    base_url = upstream if upstream.startswith("http") else "http://127.0.0.1:9/v1"
    config = gateway_config(base_url=base_url, telemetry=False, limits=None)
    config["keys"] = [{"name": "bench", "hash": "sha256:" + hashlib.sha256(b"sk-bench").hexdigest()}]
    gateway = build_gateway(config, None)
    if not upstream.startswith("http"):
        inject_mock_upstreams(gateway, ("p",))
    app = gateway.asgi_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)


def _tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its direct children (a proxy may fork a worker), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def measure_server(
    cmd: list[str],
    port: int,
    seconds: float,
    connections: int,
    env: dict[str, str] | None = None,
    startup: float = 30.0,
) -> dict[str, Any]:
    """Start ``cmd`` (listening on ``port``), drive it with the load generator, stop it."""
    log = open(os.path.join(ROOT, "benchmarks", "results", f"server-{port}.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        if not _wait_port(port, process, startup):
            return {"skipped": f"the server did not start within {startup:.0f} s (see {log.name})"}
        cpu0, wall0 = _tree_cpu_seconds(process.pid), time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.throughput",
                "load",
                "--port",
                str(port),
                "--seconds",
                str(seconds),
                "--connections",
                str(connections),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=seconds + 60,
        )
        cpu = _tree_cpu_seconds(process.pid) - cpu0
        wall = time.perf_counter() - wall0
        if done.returncode != 0:
            return {"skipped": f"the load generator failed: {done.stderr.strip()[-400:]}"}
        result = dict(json.loads(done.stdout))
        # The server is busy for warm-up + measured time; its CPU share normalises req/s to one core.
        result["server_cores"] = cpu / wall
        result["rps_per_core"] = result["rps"] / result["server_cores"] if cpu > 0 else float("nan")
        return result
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if process.returncode in (0, -15):  # stopped by us: the log holds nothing worth keeping
            os.unlink(log.name)


def litellm_proxy_cmd(python: str, base_url: str, port: int) -> tuple[list[str], dict[str, str]]:
    config = os.path.join(ROOT, "benchmarks", "results", "litellm-proxy.yaml")
    with open(config, "w") as f:
        f.write(
            "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      model: openai/bench-model\n"
            f"      api_base: {base_url}\n      api_key: sk-bench\n"
            "litellm_settings:\n  telemetry: false\n  num_retries: 0\n"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITELLM_MASTER_KEY")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR"})
    litellm_bin = os.path.join(os.path.dirname(python), "litellm")
    return [
        litellm_bin,
        "--config",
        config,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ], env


def run_throughput(
    quick: bool, base_url: str | None, litellm_python: str | None, litellm_note: str
) -> Section:
    section = Section("Endpoint throughput (one worker)")
    seconds, connections = (2.0, 16) if quick else (10.0, 32)
    started = time.perf_counter()
    why = endpoint_problem()
    for label, upstream in (
        ("endpoint, in-process mock upstream", "mock"),
        ("endpoint, loopback upstream", base_url),
    ):
        if quick and upstream != "mock":
            continue
        if why or upstream is None:
            section.rows.append({"label": label, "skipped": why or "no loopback upstream"})
            continue
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.throughput",
            "serve",
            "--port",
            str(port),
            "--upstream",
            upstream,
        ]
        section.rows.append({"label": label, **measure_server(cmd, port, seconds, connections)})
    label = "LiteLLM proxy, loopback upstream"
    if litellm_python is None or base_url is None or quick:
        section.rows.append({"label": label, "skipped": litellm_note or "not run in --quick mode"})
    else:
        port = free_port()
        cmd, env = litellm_proxy_cmd(litellm_python, base_url, port)
        section.rows.append(
            {"label": label, **measure_server(cmd, port, seconds, connections, env, startup=120)}
        )
    section.notes.append(
        f"{connections} keep-alive connections, {seconds:.0f} s measured after 1 s of warm-up; load "
        "generator, server and upstream share the machine's 2 cores."
    )
    section.seconds = time.perf_counter() - started
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--upstream", default="mock")
    gen = sub.add_parser("load")
    gen.add_argument("--port", type=int, required=True)
    gen.add_argument("--seconds", type=float, default=10.0)
    gen.add_argument("--connections", type=int, default=32)
    gen.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    if args.what == "serve":
        serve_endpoint(args.port, args.upstream)
    else:
        print(json.dumps(asyncio.run(load(args.port, args.seconds, args.connections, args.warmup))))
