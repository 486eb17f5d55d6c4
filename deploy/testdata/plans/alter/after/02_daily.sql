-- the same query, written otherwise: not a change
CREATE MATERIALIZED VIEW daily
  PARTITION BY (day)
  REFRESH CRON '0 * * * *' TIME ZONE 'Europe/Paris'
  WITH (retries = 3, timeout = '10 minutes', compression = 'snappy')
  AS select cast(pickup_at as date) as day, zone, count(*) as trips
     from trips group by all;
CREATE PIPELINE trip_log REFRESH EVERY '5 minutes' WITH (retries = 1) AS SELECT trip_id, zone FROM trips;
