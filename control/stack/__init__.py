"""The native local stack: Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus."""
