-- Soak: a point read of the materialized view, then its checksum: every
-- version of soak_v has 10,000 rows that all carry the same val (the
-- refresher bumps them all at once). A read that saw a mix of versions
-- divides by zero, which fails the transaction.
\set id random(1, 10000)
SELECT id, val FROM soak_v WHERE id = :id;
SELECT 1 / (count(*) = 10000 AND min(val) = max(val))::int AS consistent FROM soak_v;
