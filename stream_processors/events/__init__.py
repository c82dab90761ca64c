"""CleverTap events into pseudonymised ``AppEvent`` records."""
