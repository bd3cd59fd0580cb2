"""The Pulumi dynamic resources, one module each, their common base, and what they need of Pulumi:
the stack config ``configure()`` receives, credentials, inputs as the engine sends them, state shapes.

Their import paths are part of every stack's state only through :mod:`provider.entry_points` (and the
legacy paths ``provider.email_domain`` and ``provider.domain_verification``).
"""
