"""CDC normalization: Debezium envelopes from ``cdc.*`` into flat ``norm.cdc.*`` records."""
