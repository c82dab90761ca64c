"""sandbox: local stand-ins for the SaaS APIs and the source database; see docs/architecture.md."""
