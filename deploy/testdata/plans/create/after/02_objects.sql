-- created after what it reads, whatever the order of the statements
CREATE VIEW busy AS SELECT zone, trips FROM daily WHERE trips > 30;

CREATE PIPELINE trip_log PARTITION BY (day) REFRESH ON CHANGE
  AS SELECT trip_id, CAST(pickup_at AS DATE) AS day, zone, fare FROM trips;

CREATE MATERIALIZED VIEW daily PARTITION BY (day) REFRESH EVERY '1 hour'
  AS SELECT day, zone, count(*) AS trips, round(sum(fare), 2) AS fares FROM trip_log GROUP BY ALL;
