"""Near-real-time aggregates through Kafka, exactly-once in effect.

raw PostgreSQL rows → producer (watermark per raw table, or a replay of any range) → topic
`tracker.events.v1` (key = person) → micro-batch consumer → `realtime` schema (aggregates per 5 minutes,
hour and local day, "today so far"). Modules: events (the versioned event model and the streams), topics
(partitioning, client settings, topic generations), producer, consumer (micro-batches, offsets in
PostgreSQL, dead letters, batch log), aggregates (the metrics, defined once, and their batch equivalent).

Exactly-once in effect without Kafka transactions: (1) every event has an identity and the consumer keeps
the latest version per identity, recomputing the windows it touches — a duplicate or a replay cannot
double-count; (2) the consumer's offsets commit in the same PostgreSQL transaction as the aggregates, and
batches drop messages below the stored offsets — a crash or rebalance cannot double-apply or skip;
(3) the broker holds nothing of record: a broker that lost its log is detected by its topic id and the
producer re-produces what the consumer had not read.
"""
