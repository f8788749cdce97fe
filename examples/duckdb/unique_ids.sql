-- Every record appears once: primary keys are unique in every stream.
-- (verify.mjs also checks this for every stream of every source, with the
-- keys from docs/catalog.json.)
SELECT 'demo-tracktik' AS source, 'employees' AS stream, count(*) AS records, count(DISTINCT id) AS ids
FROM read_parquet('out/demo-tracktik/employees/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'clients', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/clients/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'positions', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/positions/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'shifts', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'work-sessions', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/work-sessions/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'reports', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/reports/**/*.parquet')
ORDER BY source, stream;
