-- Soak: DDL of a throwaway view, per client, used once and dropped.
CREATE VIEW soak_tmp_:client_id AS SELECT id, val * 2 AS v2 FROM soak_v WHERE id <= 100;
SELECT count(*) FROM soak_tmp_:client_id;
DROP VIEW soak_tmp_:client_id;
