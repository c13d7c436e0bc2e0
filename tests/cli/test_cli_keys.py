"""``keys new``: a key shown once, and a [[keys]] block whose hash the endpoint accepts."""

from __future__ import annotations

import hashlib
import re
import sys

import pytest

from llm_gateway_mw.cli import main
from llm_gateway_mw.cli.keys import key_hash, new_key
from llm_gateway_mw.config import load_config
from tests.cli.conftest import run_cli, run_main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEY = re.compile(r"^    (gw_[A-Za-z0-9_-]{43})$", re.M)


def _block(out: str) -> str:
    return out[out.index("[[keys]]") :].split("\n\n")[0]


def test_keys_new_prints_key_once_and_a_ready_block() -> None:
    result = run_cli("keys", "new", "--name", "billing-service")
    assert result.returncode == 0, result.stderr
    keys = KEY.findall(result.stdout)
    assert len(keys) == 1  # shown exactly once
    key = keys[0]
    assert result.stdout.count(key) == 1
    data = tomllib.loads(_block(result.stdout))
    entry = data["keys"][0]
    assert entry == {"name": "billing-service", "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest()}
    config = load_config({"keys": [entry]})  # pastes into a valid config
    assert config.keys[0].name == "billing-service"


def test_the_endpoint_accepts_the_printed_key(capsys: pytest.CaptureFixture[str]) -> None:
    keyring = pytest.importorskip("llm_gateway_mw.asgi.keys")
    assert main(["keys", "new"]) == 0
    out = capsys.readouterr().out
    key = KEY.findall(out)[0]
    config = load_config(tomllib.loads(_block(out)))
    ring = keyring.KeyRing.from_config(config)
    assert ring.match(key) is config.keys[0]
    assert ring.match(key + "x") is None
    assert keyring.hash_key(key) == key_hash(key)


def test_keys_are_random_and_urlsafe() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(re.fullmatch(r"gw_[A-Za-z0-9_-]{43}", k) for k in keys)


@pytest.mark.parametrize("name", ['a"b', "x" * 65, "-leading-dash", "new\nline"])
def test_bad_names_are_refused(name: str) -> None:
    code, out, err = run_main("keys", "new", f"--name={name}")
    assert code == 1 and out == "" and "invalid key name" in err and len(err.splitlines()) == 1


def test_names_with_spaces_are_quoted_for_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "--name", "ci bot/2"]) == 0
    block = _block(capsys.readouterr().out)
    assert tomllib.loads(block)["keys"][0]["name"] == "ci bot/2"
