"""The stack program: one ``VerifiedEmailDomain`` per configured domain, all verified by one shared group.

The whole ``anyreach:*`` config is read and checked before any resource is created, so a bad key fails
the preview with a message naming it. Every domain joins one ``VerificationGroup``, so they all wait at
once (one ``DomainVerificationGroup`` resource, ``email-domain-verifications``). Exports ``domains``:
per-domain outputs keyed by domain name.
"""

from __future__ import annotations

import pulumi

from components import StackConfigError, VerificationGroup, VerifiedEmailDomain, load_stack_config

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

    exported: dict[str, pulumi.Output[dict]] = {}
    with VerificationGroup(
        VERIFICATIONS,
        dns_check=config.dns_check,
        dns_resolvers=config.dns_resolvers,
        dns_nameserver_port=config.dns_nameserver_port,
    ) as verifications:
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


main()
