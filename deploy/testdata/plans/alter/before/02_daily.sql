CREATE MATERIALIZED VIEW daily PARTITION BY (day) WITH (retries = 2, retry_backoff = '5s', compression = 'snappy')
  AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips FROM trips GROUP BY ALL;
CREATE PIPELINE trip_log REFRESH ON CHANGE AS SELECT trip_id, zone FROM trips;
