"""sinks: see DESIGN.md's layout."""
