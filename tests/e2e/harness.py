"""Drive the real Pulumi CLI against `python -m sandbox`: used by the end-to-end tests and the benchmark.

In Cloudflare mode (``PulumiProject.create(..., cloudflare=True)``) the project's own Pulumi home gets the
Cloudflare resource plugin that `make cloudflare-plugin` made available (see ``cloudflare_plugin``) and the
CLI points the plugin at the sandbox's Cloudflare DNS API stand-in (``CLOUDFLARE_BASE_URL``,
``CLOUDFLARE_API_TOKEN``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.testing import SandboxAdmin

ROOT = Path(__file__).resolve().parents[2]
PULUMI = shutil.which("pulumi")
TOKEN = "dev-token"
ORGANIZATION = "org_dev"
PASSPHRASE = "e2e-passphrase"
# What the engine needs from the project: the program, the packages it imports, the virtualenv.
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "provider", "components", ".venv")
CLOUDFLARE_PLUGIN_VERSION = importlib.metadata.version("pulumi_cloudflare")
"""The plugin version the engine asks for: the Python SDK's own (requirements.txt pins both to one)."""
CLOUDFLARE_PLUGIN_FOLDER = f"resource-cloudflare-v{CLOUDFLARE_PLUGIN_VERSION}"
CLOUDFLARE_PLUGIN_BINARY = "pulumi-resource-cloudflare"


def pulumi_home() -> Path:
    """The Pulumi home the CLI uses: ``PULUMI_HOME``, else ``.pulumi`` in the user's home directory as the
    password database has it (the CLI asks the OS for the user, not ``$HOME``: with ``HOME`` pointed
    elsewhere, ``pulumi plugin ls`` still lists the plugins of the account's own home)."""
    if os.environ.get("PULUMI_HOME"):
        return Path(os.environ["PULUMI_HOME"])
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pulumi"


@functools.cache
def cloudflare_plugin() -> Path | None:
    """The Cloudflare resource plugin binary of the SDK's version, or None when this machine has none.

    Looked up where `make cloudflare-plugin` leaves it, without building or downloading anything: the
    plugin folder of the caller's Pulumi home (:func:`pulumi_home`; a connected machine's
    download lands there too), else the per-user cache that tools/cloudflare-plugin/plugin.sh builds into
    (asked with ``plugin.sh path``, so the cache's location is written in one place).
    """
    installed = pulumi_home() / "plugins" / CLOUDFLARE_PLUGIN_FOLDER / CLOUDFLARE_PLUGIN_BINARY
    if os.access(installed, os.X_OK):
        return installed
    answer = subprocess.run(
        ["bash", str(ROOT / "tools" / "cloudflare-plugin" / "plugin.sh"), "path"],
        capture_output=True,
        text=True,
        check=False,
    )
    cached = Path(answer.stdout.strip())
    if answer.returncode == 0 and cached.name == CLOUDFLARE_PLUGIN_BINARY and os.access(cached, os.X_OK):
        return cached
    return None


def install_cloudflare_plugin(pulumi_home: Path, binary: Path) -> None:
    """Make ``binary`` the Cloudflare plugin of ``pulumi_home``, as `pulumi plugin install --file` would.

    A hard link into a plain folder: the CLI lists only real folders of its plugin cache (a symlinked one
    is ignored), and a link costs well under a millisecond where `plugin install --file` copies the whole
    binary (240 MB, about 2 s) into every test project's home. Across file systems it falls back to a copy.
    """
    folder = pulumi_home / "plugins" / CLOUDFLARE_PLUGIN_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CLOUDFLARE_PLUGIN_BINARY
    try:
        os.link(binary, target)
    except OSError:
        shutil.copy2(binary, target)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces; the parent pid follows its closing parenthesis.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


class CommandFailed(RuntimeError):
    """A pulumi command exited non-zero; the message holds its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(log: Path, *flags: str) -> Iterator[SandboxAdmin]:
    """`python -m sandbox FLAGS` on a free loopback port until the block ends; yields its admin client."""
    port = free_port()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port), *flags],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    admin = SandboxAdmin(f"http://127.0.0.1:{port}")
    try:
        for _ in range(100):
            try:
                admin.stats()
                break
            except Exception:
                if process.poll() is not None:
                    raise RuntimeError(f"the sandbox exited: {log.read_text()}") from None
                time.sleep(0.1)
        yield admin
    finally:
        admin.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


@dataclass
class PulumiProject:
    """A copy of the project (symlinks) with its own local backend, driven through the real CLI."""

    directory: Path
    env: dict[str, str]
    sandbox: SandboxAdmin
    stacks: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, base: Path, sandbox: SandboxAdmin, *, cloudflare: bool = False) -> PulumiProject:
        """Lay out the project under ``base``/project with a `file://` backend under ``base``/backend.

        With ``cloudflare``, its Pulumi home gets the Cloudflare plugin (``cloudflare_plugin()``; a
        RuntimeError when there is none) and the plugin talks to the sandbox's stand-in with its dev token,
        given the way CI gives it (``CLOUDFLARE_API_TOKEN``); without, no Cloudflare variable of the
        caller's environment reaches the CLI, so nothing can talk to the real Cloudflare.
        """
        directory = base / "project"
        directory.mkdir()
        for name in PROJECT_FILES:
            (directory / name).symlink_to(ROOT / name)
        (base / "backend").mkdir()
        home = base / "home"
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ANYREACH_", "PULUMI_", "CLOUDFLARE_"))
        }
        env.update(
            PULUMI_BACKEND_URL=f"file://{base / 'backend'}",
            PULUMI_HOME=str(home),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_SKIP_CONFIRMATIONS="true",
        )
        if cloudflare:
            binary = cloudflare_plugin()
            if binary is None:
                raise RuntimeError(
                    f"no Cloudflare resource plugin {CLOUDFLARE_PLUGIN_VERSION}: run `make cloudflare-plugin`"
                )
            install_cloudflare_plugin(home, binary)
            env.update(
                CLOUDFLARE_BASE_URL=sandbox.cloudflare_base_url,
                CLOUDFLARE_API_TOKEN=sandbox.cloudflare_token,
            )
        return cls(directory, env, sandbox)

    def run(
        self,
        *args: str,
        stack: str | None = None,
        check: bool = True,
        timeout: float = 300,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `pulumi ARGS --non-interactive [--stack STACK]` (``env`` adds variables); with ``check``,
        raise with its output."""
        command = [str(PULUMI), *args, "--non-interactive"]
        if stack is not None:
            command += ["--stack", stack]
        result = subprocess.run(
            command,
            cwd=self.directory,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise CommandFailed(
                f"`pulumi {' '.join(args)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *args: str, stack: str, output: Path | None = None) -> subprocess.Popen[str]:
        """Start `pulumi ARGS` in its own process group (so a caller can kill the whole tree); its output
        goes to a pipe, or to the file ``output`` (a command left running while the test does something
        else must not block on a full pipe)."""
        with contextlib.ExitStack() as files:
            sink = files.enter_context(output.open("w")) if output is not None else subprocess.PIPE
            return subprocess.Popen(
                [str(PULUMI), *args, "--non-interactive", "--stack", stack],
                cwd=self.directory,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def new_stack(self, name: str, *, with_token: bool = True, **config: Any) -> str:
        """Create stack ``name`` pointed at the sandbox (its API and its DNS server), with the token as a
        secret and ``config`` set; a value of None leaves that key to its default. Lists: see ``set_config``.
        """
        self.run("stack", "init", name)
        self.stacks.append(name)
        if with_token:
            self.run("config", "set", "--secret", "anyreach:token", TOKEN, stack=name)
        dns_port = self.sandbox.dns()["port"]
        settings: dict[str, Any] = {
            "baseUrl": self.sandbox.base_url,
            "organization": ORGANIZATION,
            "pollIntervalSeconds": "0.2",
            # The DNS check asks the sandbox's DNS server only: tests never query DNS beyond loopback.
            "dnsResolvers": [f"127.0.0.1:{dns_port}"],
            "dnsNameserverPort": str(dns_port),
            **config,
        }
        for key, value in settings.items():
            if value is not None:  # None: leave the key to its Pulumi.yaml default
                self.set_config(name, key, value)
        return name

    def set_config(self, stack: str, key: str, value: Any) -> None:
        """`pulumi config set anyreach:KEY VALUE`; a list is set item by item (objects field by field)
        with `--path` (this CLI has no `config set --json`)."""
        if not isinstance(value, list):
            self.run("config", "set", f"anyreach:{key}", str(value), stack=stack)
            return
        for index, item in enumerate(value):
            if isinstance(item, dict):
                for field_name, field_value in item.items():
                    path = f"anyreach:{key}[{index}].{field_name}"
                    self.run("config", "set", "--path", path, str(field_value), stack=stack)
            else:
                self.run("config", "set", "--path", f"anyreach:{key}[{index}]", str(item), stack=stack)

    def outputs(self, stack: str) -> dict[str, Any]:
        """`pulumi stack output --json`."""
        return dict(json.loads(self.run("stack", "output", "--json", stack=stack).stdout))

    def export(self, stack: str) -> dict[str, Any]:
        """`pulumi stack export` (secrets stay encrypted)."""
        return dict(json.loads(self.run("stack", "export", stack=stack).stdout))

    def destroy_all(self) -> None:
        """Destroy every stack this project created (best effort: cleanup). With ``--run-program``, so
        the current stack config's token is used (the copy stored with the stack never deletes)."""
        for stack in self.stacks:
            if self._holds_nothing(stack):
                continue  # destroyed already: a destroy that runs the program costs seconds
            self.run("destroy", "--yes", "--run-program", stack=stack, check=False)

    def _holds_nothing(self, stack: str) -> bool:
        exported = self.run("stack", "export", stack=stack, check=False)
        if exported.returncode != 0:
            return False  # cannot tell: destroy anyway
        return not (json.loads(exported.stdout).get("deployment") or {}).get("resources")
