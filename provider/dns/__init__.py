"""The DNS checker: does every authoritative nameserver (or resolver) serve every record yet?

No API and no Pulumi (an import-linter contract checks it).
"""
