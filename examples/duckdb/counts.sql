-- Records per source and stream in the demo output.
--
-- The simulators are seeded (seed 1), so the counts are exact. They stay
-- exact with faults on (`quiver demo --faults 0.2`) and after an
-- incremental re-run (`--full-refresh=false`): a retried page is never
-- written twice, and a run adds only records past the saved cursor.
SELECT split_part(filename, '/', 2) AS source,
       split_part(filename, '/', 3) AS stream,
       count(*)                     AS records
FROM read_parquet('out/*/*/**/*.parquet', filename = true, union_by_name = true)
GROUP BY ALL
ORDER BY ALL;
