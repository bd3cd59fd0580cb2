"""The stack program: one ``VerifiedEmailDomain`` per configured domain, all verified by one shared group.

The whole ``anyreach:*`` config is read and checked before any resource is created, so a bad key fails
the preview with a message naming it; an update that publishes records in Cloudflare first checks that
Cloudflare accepts the API token (``components.cloudflare_access``), so a wrong one fails before anything
changes, naming ``cloudflare:apiToken`` / ``CLOUDFLARE_API_TOKEN``. Every domain joins one
``VerificationGroup``, so they all wait at once (one ``DomainVerificationGroup`` resource,
``email-domain-verifications``). Exports ``domains``: per-domain outputs keyed by domain name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pulumi

from components import (
    StackConfigError,
    VerificationGroup,
    VerifiedEmailDomain,
    VerifiedEmailDomainArgs,
    load_stack_config,
)
from components.cloudflare_access import (
    BASE_URL_CONFIG_KEY,
    TOKEN_CONFIG_KEY,
    CloudflareAccessError,
    check_cloudflare_access,
    cloudflare_credential,
)

VERIFICATIONS = "email-domain-verifications"
"""The name of the stack's one verification resource."""


def main() -> None:
    """Parse the config, create the components, export their outputs."""
    try:
        config = load_stack_config()
    except StackConfigError as exc:
        for warning in exc.warnings:
            pulumi.log.warn(warning)
        # RunError ends the program with the message alone, without a Python traceback.
        raise pulumi.RunError(str(exc)) from None
    for warning in config.warnings:
        pulumi.log.warn(warning)
    if not pulumi.runtime.is_dry_run():
        # Only an update writes to Cloudflare; a preview (a pull request's, say) needs no Cloudflare token.
        check_cloudflare_token(config.domains)

    exported: dict[str, pulumi.Output[dict]] = {}
    with VerificationGroup(VERIFICATIONS, config.dns) as verifications:
        for domain_config in config.domains:
            component = VerifiedEmailDomain(
                domain_config.resource_name, domain_config.to_args(), verification_group=verifications
            )
            exported[domain_config.domain] = pulumi.Output.all(
                domainId=component.domain_id,
                dnsMode=component.dns_mode,
                status=component.status,
                verified=component.verified,
                dnsRecords=component.dns_records,
                cloudflareRecordIds=component.cloudflare_record_ids,
            )
    pulumi.export("domains", exported)


def check_cloudflare_token(domains: Iterable[VerifiedEmailDomainArgs]) -> None:
    """Fail the update, naming the token's setting, if Cloudflare refuses the token for a zone in use."""
    zones: dict[str, list[str]] = {}
    for domain_config in domains:
        if domain_config.zone_id is not None:
            zones.setdefault(str(domain_config.zone_id), []).append(domain_config.domain)
    if not zones:
        return
    settings = pulumi.Config("cloudflare")
    credential = cloudflare_credential(
        {key: settings.get(key.split(":", 1)[1]) for key in (TOKEN_CONFIG_KEY, BASE_URL_CONFIG_KEY)},
        os.environ,
    )
    try:
        check_cloudflare_access(credential, zones, warn=pulumi.log.warn)
    except CloudflareAccessError as exc:
        raise pulumi.RunError(str(exc)) from None


main()
