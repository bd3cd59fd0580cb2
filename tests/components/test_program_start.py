"""What a stack program pays before its first resource: the Cloudflare SDK only when a domain uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code`` in the repository."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(done.stdout.split())


def test_importing_the_components_does_not_import_the_cloudflare_sdk() -> None:
    # About 3 s of imports (the whole generated SDK) that a stack in manual mode never needs.
    loaded = _modules_after("import components")
    assert "components.verified_email_domain" in loaded
    assert not {name for name in loaded if name.split(".")[0] == "pulumi_cloudflare"}
