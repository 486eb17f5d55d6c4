-- fares goes, trips becomes an INTEGER: breaking for what reads them
CREATE MATERIALIZED VIEW daily PARTITION BY (day)
  AS SELECT CAST(pickup_at AS DATE) AS day, zone, CAST(count(*) AS INTEGER) AS trips, round(sum(fare)) AS fares_rounded
     FROM trips GROUP BY ALL;
CREATE MATERIALIZED VIEW zone_totals AS SELECT zone, sum(trips) AS trips FROM daily GROUP BY zone;
CREATE VIEW busy AS SELECT zone, trips FROM zone_totals WHERE trips > 80;
-- follows the change: its new query binds only once daily is rebuilt
CREATE MATERIALIZED VIEW fare_totals AS SELECT zone, sum(fares_rounded) AS fares FROM daily GROUP BY zone;
