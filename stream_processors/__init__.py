"""stream_processors: see DESIGN.md's layout."""
