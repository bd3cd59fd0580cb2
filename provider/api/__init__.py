"""The Email Domains API: the HTTP client, what it returns, its errors and the request budget.

This layer knows HTTP and the wire format, nothing of Pulumi (an import-linter contract checks it).
"""
