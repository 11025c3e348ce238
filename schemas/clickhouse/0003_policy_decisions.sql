-- 0003: one row per synchronous policy hook decision (docs/policy.md,
-- "Decisions"): allowed, denied, overridden, failed with its class, or
-- skipped by the hook's breaker. command_audit_id is the id of the
-- command's row in commands when the command was not accepted; an
-- accepted command's row (written later, from its commit) joins on
-- command_id. response_body keeps the first 4 KiB of the hook's answer;
-- latency_ms has microsecond precision (a local hook answers in less than
-- a millisecond).
CREATE TABLE IF NOT EXISTS policy_decisions (
    id                String,
    decided_at        DateTime,
    decided_at_us     Int64,
    hook_id           String,
    command           String,
    command_id        String,
    command_audit_id  String,
    group_id          String,
    actor             String,
    request_id        String,
    format            String,
    outcome           String,
    failure_class     String,
    on_failure        String,
    latency_ms        Float64,
    response_status   UInt16,
    response_body     String,
    code              String,
    message           String,
    override          String,
    inserted_at       DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(decided_at)
ORDER BY (hook_id, id);
