"""schemas: see DESIGN.md's layout."""
