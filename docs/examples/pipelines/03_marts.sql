-- Daily fares per zone, refreshed every hour, with a quality gate.
CREATE MATERIALIZED VIEW daily_fares
  (CONSTRAINT positive_fares EXPECT (fares > 0))
  PARTITION BY (day)
  REFRESH EVERY '1 hour'
  WITH (retries = 2)
  AS SELECT day, zone, count(*) AS trips, round(sum(fare), 2) AS fares
     FROM trip_log GROUP BY ALL;

-- Totals per zone, refreshed whenever daily_fares publishes.
CREATE MATERIALIZED VIEW zone_totals
  REFRESH ON CHANGE
  AS SELECT zone, sum(trips) AS trips, round(sum(fares), 2) AS fares
     FROM daily_fares GROUP BY zone;

-- What the dashboards read.
CREATE VIEW busiest_zones AS
  SELECT zone, trips FROM zone_totals WHERE trips >= 75 ORDER BY trips DESC;
