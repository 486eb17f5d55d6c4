-- The analysts read the marts; the role must exist (CREATE ROLE analyst).
GRANT SELECT ON MATERIALIZED VIEW daily_fares, zone_totals TO analyst;
GRANT SELECT ON VIEW busiest_zones TO analyst;
