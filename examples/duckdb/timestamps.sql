-- Timestamps are timestamp[us, UTC] in the files, so DuckDB reads them as
-- TIMESTAMP WITH TIME ZONE: instants, shown in the session's time zone
-- (SET TimeZone = 'UTC' to see them as the vendor sent them), never
-- ambiguous wall-clock times. Dates stay DATE.
SELECT 'demo-tracktik.shifts' AS stream, column_name, column_type
FROM (DESCRIBE FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet'))
WHERE column_type LIKE 'TIMESTAMP%' OR column_type = 'DATE'
UNION ALL
SELECT 'demo-tracktik.employees', column_name, column_type
FROM (DESCRIBE FROM read_parquet('out/demo-tracktik/employees/**/*.parquet'))
WHERE column_type LIKE 'TIMESTAMP%' OR column_type = 'DATE'
UNION ALL
SELECT 'demo-tracktik.reports', column_name, column_type
FROM (DESCRIBE FROM read_parquet('out/demo-tracktik/reports/**/*.parquet'))
WHERE column_type LIKE 'TIMESTAMP%' OR column_type = 'DATE'
ORDER BY stream, column_name;
