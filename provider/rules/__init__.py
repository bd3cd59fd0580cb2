"""The rules of names and records, each written once: domain names, lookalike names, DNS records.

Pure functions over text; no I/O, no API, no Pulumi (an import-linter contract checks it).
"""
