-- Every trip once, appended as new files arrive (exactly once).
CREATE PIPELINE trip_log
  PARTITION BY (day)
  REFRESH ON CHANGE
  AS SELECT trip_id, CAST(pickup_at AS DATE) AS day, zone, fare FROM trips;
