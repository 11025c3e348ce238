-- 0004: every change to a policy hook (roster-policy, docs/policy.md):
-- who made it and the hook before and after, as JSON without secrets ("" on
-- the side that does not exist). Same conventions as 0001.
CREATE TABLE IF NOT EXISTS policy_hook_changes (
    id              String,
    hook_id         String,
    change          String,
    actor           String,
    command         String,
    before          String,
    after           String,
    at              DateTime,
    at_us           Int64,
    inserted_at     DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (hook_id, id);
