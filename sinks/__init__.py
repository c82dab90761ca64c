"""sinks: consumers that land topics in warehouse tables; see docs/architecture.md."""
