"""Waiting for domains to verify: the process-wide poller (DNS check, verify, poll, backoff, budget share)
and ``verify_domains``, which waits for many domains at once.

No Pulumi (an import-linter contract checks it): callers pass a client, a way to re-target errors and a log.
"""
