CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true);
SELECT count(*) FROM trips;
CREATE MATERIALIZED VIEW daily_fares
  PARTITION BY (day)
  AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares
     FROM trips GROUP BY ALL;
SELECT * FROM daily_fares WHERE day = DATE '2024-11-14' ORDER BY zone;
REFRESH MATERIALIZED VIEW daily_fares;
SHOW SOURCES;
SHOW MATERIALIZED VIEWS;
SELECT object, trigger, status, rows_out, files_written FROM sluice.runs ORDER BY started_at;
SELECT * FROM sluice.partitions WHERE object = 'daily_fares';
DROP MATERIALIZED VIEW daily_fares;
