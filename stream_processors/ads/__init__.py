"""Ad platforms' rows into one ``AdPerformanceDaily`` schema."""
