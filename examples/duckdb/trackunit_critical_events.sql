-- Trackunit: critical events per brand, joining the event log with the
-- assets; the event's J1939 fault details are a nested struct.
SELECT a.brand,
       count(*)                                        AS critical_events,
       count(DISTINCT e.asset_id)                      AS assets,
       count(e.details.j1939.spn)                      AS with_j1939_code
FROM read_parquet('out/demo-trackunit/asset_events/**/*.parquet') AS e
JOIN read_parquet('out/demo-trackunit/assets/**/*.parquet') AS a ON a.id = e.asset_id
WHERE e.criticality = 'CRITICAL'
GROUP BY a.brand
ORDER BY critical_events DESC, a.brand
LIMIT 5;
