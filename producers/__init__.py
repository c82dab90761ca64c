"""producers: see DESIGN.md's layout."""
