-- 0001: Roster's audit trail (database roster; see docs/audit.md).
--
-- Runs on ClickHouse 18.16 and on current releases: no DateTime64, TTL,
-- Map, codecs or LowCardinality. Times are a DateTime (seconds, UTC, for
-- partitioning and reading) plus an Int64 of unix microseconds (order and
-- latency). Headers are two parallel arrays, sorted by name.
--
-- Every table is a ReplacingMergeTree whose sorting key ends with the
-- record id, so a record the sink inserts twice (a redelivered batch)
-- collapses to one row; read with FINAL (or GROUP BY id) to never see the
-- copy before a merge. A record's partition is a function of the record
-- itself, so both copies always land in the same partition.
--
-- Statements end with ";" at the end of a line: the migrator splits there.

CREATE TABLE IF NOT EXISTS commands (
    id              String,
    command_id      String,
    subject         String,
    group_id        String,
    actor           String,
    outcome         String,
    error_code      String,
    error_message   String,
    version         UInt64,
    latency_us      Int64,
    received_at     DateTime,
    received_at_us  Int64,
    payload_sha256  String,
    payload_size    UInt32,
    inserted_at     DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (group_id, id);

CREATE TABLE IF NOT EXISTS events (
    id              String,
    type            String,
    schema_version  UInt16,
    group_id        String,
    version         UInt64,
    stream_seq      UInt64,
    command_id      String,
    correlation_id  String,
    actor           String,
    occurred_at     DateTime,
    occurred_at_us  Int64,
    data            String,
    inserted_at     DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (group_id, version, id);

CREATE TABLE IF NOT EXISTS delivery_attempts (
    id                      String,
    event_id                String,
    event_type              String,
    group_id                String,
    endpoint_id             String,
    url                     String,
    format                  String,
    attempt                 UInt32,
    trigger                 String,
    request_header_names    Array(String),
    request_header_values   Array(String),
    request_size            UInt32,
    request_sha256          String,
    response_status         UInt16,
    response_header_names   Array(String),
    response_header_values  Array(String),
    response_body           String,
    success                 UInt8,
    failure_class           String,
    failure_message         String,
    latency_us              Int64,
    started_at              DateTime,
    started_at_us           Int64,
    next_attempt_at         Nullable(DateTime),
    state                   String,
    inserted_at             DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(started_at)
ORDER BY (endpoint_id, event_id, id);

CREATE TABLE IF NOT EXISTS endpoint_changes (
    id              String,
    endpoint_id     String,
    change          String,
    actor           String,
    automatic       UInt8,
    reason          String,
    group_id        String,
    endpoint        String,
    at              DateTime,
    at_us           Int64,
    inserted_at     DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (endpoint_id, id);
