"""connectors: see DESIGN.md's layout."""
