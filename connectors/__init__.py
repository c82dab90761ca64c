"""Debezium on Kafka Connect: the connector config, its REST client and the source's setup.

- :mod:`connectors.base`: the config type and the errors (transient or terminal);
- :mod:`connectors.client`: Kafka Connect's REST API, errors mapped from one table;
- :mod:`connectors.debezium_postgres`: the Debezium PostgreSQL config, from settings;
- :mod:`connectors.deployment`: validate, apply (with incremental snapshots of added
  tables) and delete;
- :mod:`connectors.source_setup`: the replication role, grants, signaling table and
  publication in the source database;
- :mod:`connectors.signals`, :mod:`connectors.slots`: Debezium signals and the replication
  slot (password verifiers are :mod:`headwater.scram`, shared with the warehouse roles).
"""
