-- Timestamps are timestamp[us, UTC] in the files, so DuckDB reads them as
-- TIMESTAMP WITH TIME ZONE: instants, shown in the session's time zone
-- (SET TimeZone = 'UTC' to see them in UTC), never ambiguous wall-clock
-- times, whatever the vendor sent (offsets, "Z", or Capillary's org-local
-- times without an offset, converted with its timezone setting). Dates stay
-- DATE; timestamps inside structs are zoned too.
SELECT stream, column_name, column_type
FROM (
  SELECT 'demo-tracktik.shifts' AS stream, * FROM (DESCRIBE FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet'))
  UNION ALL
  SELECT 'demo-tracktik.employees', * FROM (DESCRIBE FROM read_parquet('out/demo-tracktik/employees/**/*.parquet'))
  UNION ALL
  SELECT 'demo-trackvia.work_orders', * FROM (DESCRIBE FROM read_parquet('out/demo-trackvia/work_orders/**/*.parquet'))
  UNION ALL
  SELECT 'demo-trackunit.asset_events', * FROM (DESCRIBE FROM read_parquet('out/demo-trackunit/asset_events/**/*.parquet'))
  UNION ALL
  SELECT 'demo-trackunit.fleet_snapshot', * FROM (DESCRIBE FROM read_parquet('out/demo-trackunit/fleet_snapshot/**/*.parquet'))
  UNION ALL
  SELECT 'demo-capillary.transactions', * FROM (DESCRIBE FROM read_parquet('out/demo-capillary/transactions/**/*.parquet'))
)
WHERE column_type LIKE '%TIMESTAMP%' OR column_type LIKE '%DATE%'
ORDER BY stream, column_name;
