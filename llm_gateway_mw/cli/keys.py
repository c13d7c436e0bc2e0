"""``llm-gateway-mw keys new``: a new gateway key, shown once, and its ``[[keys]]`` config block."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets

from . import CliError

__all__ = ["KEY_PREFIX", "hash_line", "key_hash", "new_key", "run"]

KEY_PREFIX = "gw_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@:/-]{0,63}")


def new_key() -> str:
    """A random gateway key: ``gw_`` and 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """The config form of a key's hash: ``sha256:<hex of sha256 over the whole key string>``."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_line(key: str) -> str:
    return f"hash = {json.dumps(key_hash(key))}"


def run(args: argparse.Namespace) -> int:
    name: str = args.name
    if not _NAME.fullmatch(name):
        raise CliError(
            f"invalid key name {name!r}: use 1-64 letters, digits, spaces or . _ @ : / - "
            "(starting with a letter or digit)"
        )
    key = new_key()
    print("New gateway key (shown only this once; store it in your secret manager):")
    print()
    print(f"    {key}")
    print()
    print("Paste this block into your gateway config (it stores only the key's hash):")
    print()
    print("[[keys]]")
    print(f"name = {json.dumps(name)}")
    print(hash_line(key))
    print('# models = ["auto"]            # optional: the models and routes this key may call')
    print('# rate_limits = ["60/minute"]  # optional: limits for this key')
    print()
    print("Callers send it as 'Authorization: Bearer <key>' (OpenAI SDKs) or 'x-api-key' (Anthropic SDKs).")
    return 0
