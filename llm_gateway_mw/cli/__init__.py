"""The ``llm-gateway-mw`` command: demo, serve, check, keys and savings.

Importing this module is cheap: each subcommand's module (and the SDKs, uvicorn or
FastAPI it needs) is imported only when that subcommand runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import NoReturn

__all__ = ["PROG", "CliError", "build_parser", "main"]

PROG = "llm-gateway-mw"


class CliError(Exception):
    """A failure to report as one line on stderr, with a non-zero exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that point at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _runner(module: str, function: str = "run") -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(
            import_module(f"llm_gateway_mw.cli.{module}"), function
        )
        return command(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (no subcommand module is imported)."""
    parser = _Parser(
        prog=PROG,
        description="An LLM gateway inside your web app. Start with: llm-gateway-mw demo",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a FastAPI app on the mock provider and show routing, failover, limits, cost and traces",
        description="Starts a small FastAPI app in-process on the built-in mock provider (one deployment "
        "deliberately failing), sends a burst of traffic from several users and prints what the gateway "
        "did. Needs no network and no API key.",
    )
    demo.add_argument("--requests", type=int, default=60, metavar="N", help="requests to send (default 60)")
    demo.add_argument("--seed", type=int, default=7, help="seed for the traffic mix (default 7)")
    demo.set_defaults(run=_runner("demo"))

    serve = commands.add_parser(
        "serve",
        help="run the OpenAI/Anthropic-compatible endpoint as a standalone server (uvicorn)",
        description="Serves gateway.asgi_app() with uvicorn. Without --config it serves built-in mock "
        "models, so any OpenAI or Anthropic SDK can try the gateway with no key.",
    )
    serve.add_argument(
        "--config", metavar="FILE", help="gateway config (TOML); default: built-in mock models"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one")
    serve.add_argument(
        "--status",
        choices=("local", "public", "off"),
        default="local",
        help="the status page at /llm-gateway/: loopback clients only (default), anyone, or not mounted",
    )
    serve.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="accept calls without a gateway key (trusted networks only; implied without --config)",
    )
    serve.set_defaults(run=_runner("serve"))

    check = commands.add_parser(
        "check",
        help="validate a config file and print the resolved routing table",
        description="Validates a gateway config and prints providers, models and their deployments, "
        "routes, fallback chains, limits, budgets and keys. Exits 1 with the key path and a hint on error.",
    )
    check.add_argument("config", metavar="CONFIG", help="the gateway config file (TOML)")
    check.set_defaults(run=_runner("check"))

    keys = commands.add_parser(
        "keys",
        help="create gateway keys for the mounted endpoint",
        description="Gateway keys authenticate callers of the mounted endpoint; the config stores only "
        "their hash.",
    )
    key_commands = keys.add_subparsers(title="key commands", dest="key_command", metavar="KEY_COMMAND")
    new = key_commands.add_parser(
        "new",
        help="print a new key once, and the [[keys]] block to paste into the config",
        description="Prints a new random gateway key (shown once) and a ready-to-paste [[keys]] block "
        "holding its sha256 hash.",
    )
    new.add_argument("--name", default="default", help="the key's name in the config (default 'default')")
    new.set_defaults(run=_runner("keys"))
    keys.set_defaults(run=_missing(keys, "choose a key command: new"))

    savings = commands.add_parser(
        "savings",
        help="replay a request log through auto-routing offline and estimate the cost saved",
        description="Reads OpenAI-style request bodies (one JSON object per line), decides each one's tier "
        "with the route's complexity classifier (no upstream call), and reports requests, estimated tokens "
        "and cost per tier, with auto-routing and with every request on the strongest tier.",
    )
    savings.add_argument("log", metavar="LOG.jsonl", help="request bodies, one JSON object per line")
    savings.add_argument("--config", metavar="FILE", help="gateway config (TOML); default: built-in models")
    savings.add_argument("--route", help="the complexity route to replay (default: 'auto' or the only one)")
    savings.add_argument(
        "--output-tokens",
        type=int,
        default=300,
        metavar="N",
        help="assumed reply length in tokens, capped by each request's max_tokens (default 300)",
    )
    savings.add_argument("--chart", metavar="OUT.png", help="also write a PNG bar chart of the costs")
    savings.set_defaults(run=_runner("savings"))
    return parser


def _missing(parser: argparse.ArgumentParser, message: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        parser.error(message)

    return run


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return run(args)
    except CliError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return err.status
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
