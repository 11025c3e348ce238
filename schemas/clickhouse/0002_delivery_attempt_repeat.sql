-- Every HTTP request the webhook dispatcher sends is its own row; a request
-- sent again because the previous holder of its job died before saving the
-- outcome is marked repeat = 1 (docs/adr/0026). Rows written before this
-- column existed read 0.
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the migrator treats
-- "column already exists" (code 44) from an ADD COLUMN as applied, so two
-- migrators racing on this file both succeed.
ALTER TABLE delivery_attempts ADD COLUMN repeat UInt8 DEFAULT 0;
