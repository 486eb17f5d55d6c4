CREATE MATERIALIZED VIEW daily PARTITION BY (day)
  AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, round(sum(fare), 2) AS fares, max(fare) AS top_fare
     FROM trips GROUP BY ALL;
CREATE MATERIALIZED VIEW zone_totals AS SELECT zone, sum(trips) AS trips FROM daily GROUP BY zone;
CREATE VIEW busy AS SELECT zone, trips FROM zone_totals WHERE trips > 80;
