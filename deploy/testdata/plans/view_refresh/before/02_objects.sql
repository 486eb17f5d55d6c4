CREATE VIEW airport_trips AS SELECT * FROM trips WHERE zone = 'Airport';
CREATE MATERIALIZED VIEW airport_daily AS SELECT CAST(pickup_at AS DATE) AS day, count(*) AS trips FROM airport_trips GROUP BY ALL;
CREATE MATERIALIZED VIEW airport_total AS SELECT sum(trips) AS trips FROM airport_daily;
