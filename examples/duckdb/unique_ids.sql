-- Every record appears once: primary keys are unique, whatever the key.
-- (verify.mjs checks this for every stream of every source, with the keys
-- from docs/catalog.json; here are a few by hand.)
SELECT 'demo-tracktik' AS source, 'shifts' AS stream, 'id' AS primary_key,
       count(*) AS records, count(DISTINCT id) AS distinct_keys
FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik', 'work-sessions', 'id', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-tracktik/work-sessions/**/*.parquet')
UNION ALL
SELECT 'demo-trackvia', 'work_orders', 'id', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-trackvia/work_orders/**/*.parquet')
UNION ALL
SELECT 'demo-trackunit', 'fleet_snapshot', 'pin', count(*), count(DISTINCT pin)
FROM read_parquet('out/demo-trackunit/fleet_snapshot/**/*.parquet')
UNION ALL
SELECT 'demo-trackunit', 'locations', 'asset_id', count(*), count(DISTINCT asset_id)
FROM read_parquet('out/demo-trackunit/locations/**/*.parquet')
UNION ALL
SELECT 'demo-trackunit', 'asset_events', 'id', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-trackunit/asset_events/**/*.parquet')
UNION ALL
SELECT 'demo-capillary', 'customers', 'user_id', count(*), count(DISTINCT user_id)
FROM read_parquet('out/demo-capillary/customers/**/*.parquet')
UNION ALL
SELECT 'demo-capillary', 'transactions', 'id', count(*), count(DISTINCT id)
FROM read_parquet('out/demo-capillary/transactions/**/*.parquet')
ORDER BY source, stream;
