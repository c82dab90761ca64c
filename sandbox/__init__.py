"""sandbox: see DESIGN.md's layout."""
