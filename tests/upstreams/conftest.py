"""Make the fake-upstream fixtures available to this directory's tests.

The shared ``tests/conftest.py`` also registers them via
``pytest_plugins = ["tests.upstreams.fixtures"]``; re-exporting them here keeps
these tests working on their own (conftest fixtures simply shadow the plugin's).
"""

from __future__ import annotations

from .fixtures import blackhole, refused_port, upstream, upstream_factory

__all__ = ["blackhole", "refused_port", "upstream", "upstream_factory"]
