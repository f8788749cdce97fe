-- Records per source and stream in the demo output.
--
-- The simulators are seeded (seed 1), so the counts are exact. They stay
-- exact with faults on (`quiver demo --faults 0.1`): a page that is retried
-- after a 429, a 5xx or a cut-off body is still written exactly once.
SELECT split_part(filename, '/', 2) AS source,
       split_part(filename, '/', 3) AS stream,
       count(*)                     AS records
FROM read_parquet('out/*/*/**/*.parquet', filename = true, union_by_name = true)
GROUP BY ALL
ORDER BY ALL;
