CREATE PIPELINE trip_log PARTITION BY (day) AS SELECT trip_id, CAST(pickup_at AS DATE) AS day, zone, fare FROM trips;
CREATE MATERIALIZED VIEW log_zones AS SELECT zone, count(*) AS n FROM trip_log GROUP BY zone;
