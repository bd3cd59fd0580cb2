"""A local stand-in for the Anyreach Email Domains API, with DNS, timing and fault controls.

``create_app(config)`` builds the WSGI app (Flask); ``python -m sandbox`` serves it with waitress;
``sandbox.testing.SandboxServer`` runs it on a free loopback port inside a test. See README.md.
"""

from sandbox._app import create_app, sandbox_state
from sandbox._config import (
    DEFAULT_CREDENTIAL,
    DEFAULT_ORGANIZATION,
    DEFAULT_TOKEN,
    SCOPE_MANAGE,
    SCOPE_READ,
    Credential,
    SandboxConfig,
)
from sandbox._errors import ResponseDropped

__all__ = [
    "DEFAULT_CREDENTIAL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_TOKEN",
    "SCOPE_MANAGE",
    "SCOPE_READ",
    "Credential",
    "ResponseDropped",
    "SandboxConfig",
    "create_app",
    "sandbox_state",
]
