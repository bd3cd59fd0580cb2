"""Write the upgrade fixture: a stack state made by the code of this checkout, and its sandbox state.

Run once, on the release whose state later code must keep reading, then check the output in (needs a
`pulumi` on PATH): `.venv/bin/python scripts/make_upgrade_fixture.py tests/e2e/fixtures/upgrade_<commit>`.
The upgrade test (tests/e2e/test_upgrade_e2e.py) imports the state into a fresh backend and drives the
current code over it. Files written: `state.json` (`pulumi stack export`, secrets encrypted with the
stack's passphrase), `Pulumi.upgrade.yaml` (the stack config with its encryption salt), `sandbox-state.json`
(the sandbox's `--state` file) and `fixture.json` (passphrase, sandbox URL, domains, commit).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import PASSPHRASE, PulumiProject, sandbox_process  # noqa: E402

STACK = "upgrade"
DOMAINS = ("alpha.example.com", "beta.example.com")


def main() -> None:
    """Create the stack with this checkout's code, `pulumi up`, and copy what the upgrade test needs."""
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="anyreach-fixture-") as tmp:
        base = Path(tmp)
        sandbox_state = base / "sandbox-state.json"
        flags = [
            "--auto-publish", "--propagation-delay", "0.5", "--seed", "7", "--dns-port", "0",
            "--state", str(sandbox_state),
        ]  # fmt: skip
        with sandbox_process(base / "sandbox.log", *flags) as sandbox:
            project = PulumiProject.create(base, sandbox)
            project.new_stack(STACK, domains=[{"domain": name} for name in DOMAINS])
            project.run("up", "--yes", "--skip-preview", stack=STACK)
            state = project.run("stack", "export", stack=STACK).stdout
            (out / "state.json").write_text(state)
            shutil.copy(project.directory / f"Pulumi.{STACK}.yaml", out / f"Pulumi.{STACK}.yaml")
            base_url = sandbox.base_url
            dns_port = sandbox.dns()["port"]
        shutil.copy(sandbox_state, out / "sandbox-state.json")
    fixture = {
        "commit": commit,
        "stack": STACK,
        "passphrase": PASSPHRASE,
        "sandbox_base_url": base_url,
        "sandbox_dns_port": dns_port,
        "domains": list(DOMAINS),
    }
    (out / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")
    print(f"wrote the upgrade fixture of {commit} to {out}")


if __name__ == "__main__":
    main()
