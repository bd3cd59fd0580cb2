"""The Cloudflare plugin that tools/cloudflare-plugin/plugin.sh makes available is the one the Python SDK
asks the engine for: requirements.txt pins one version, and every place that names it agrees."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
from importlib import resources
from pathlib import Path

import pulumi_cloudflare._utilities as sdk_utilities
import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SH = ROOT / "tools" / "cloudflare-plugin" / "plugin.sh"


def pinned_version() -> str:
    """The version requirements.txt pins the SDK to (the line plugin.sh reads too)."""
    pins = re.findall(
        r"^pulumi-cloudflare==([0-9][0-9.]*)\s*$", (ROOT / "requirements.txt").read_text(), re.M
    )
    assert len(pins) == 1, "requirements.txt must pin pulumi-cloudflare==X.Y.Z exactly once"
    return pins[0]


def test_the_installed_sdk_is_the_pinned_version_and_asks_the_engine_for_that_plugin() -> None:
    version = pinned_version()
    assert importlib.metadata.version("pulumi_cloudflare") == version
    # What every resource of the SDK sends the engine as the plugin version it needs.
    assert sdk_utilities.get_version() == version
    plugin_json = json.loads(resources.files("pulumi_cloudflare").joinpath("pulumi-plugin.json").read_text())
    assert (plugin_json["name"], plugin_json["version"]) == ("cloudflare", version)


def test_the_build_script_builds_and_caches_the_pinned_version(tmp_path: Path) -> None:
    env = {**os.environ, "ANYREACH_CACHE_DIR": str(tmp_path)}
    answer = subprocess.run(
        ["bash", str(PLUGIN_SH), "path"], capture_output=True, text=True, env=env, check=True
    )
    expected = tmp_path / "cloudflare-plugin" / pinned_version() / "bin" / "pulumi-resource-cloudflare"
    assert Path(answer.stdout.strip()) == expected


def test_the_plugin_sources_build_the_pinned_version() -> None:
    source = Path(os.environ.get("CLOUDFLARE_PLUGIN_SOURCE") or ROOT.parent / "shared" / "cloudflare-plugin")
    if not (source / "VERSION").exists():
        pytest.skip(f"no plugin sources at {source} (a machine that downloads the plugin needs none)")
    assert (source / "VERSION").read_text().strip() == pinned_version()
