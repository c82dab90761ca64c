"""producers: one package per API source; see docs/architecture.md."""
