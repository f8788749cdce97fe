-- What the schemas could not take, in the output of
-- `quiver demo --variant alt`: per stream, each key of _quiver_rescued and
-- the records that have it. _quiver_rescued is a JSON object stored as text
-- (VARCHAR); DuckDB's JSON functions read it as it is. Keys the schema does
-- not know appear on every record; a key that is also a column (Revenue,
-- amount, account, ...) is a value whose JSON type did not fit it, and its
-- column is NULL on those records.
SELECT split_part(filename, '/', 2) AS source,
       split_part(filename, '/', 3) AS stream,
       key                          AS rescued_key,
       count(*)                     AS records
FROM (
  SELECT filename, unnest(json_keys(_quiver_rescued)) AS key
  FROM read_parquet('out/*/*/**/*.parquet', filename = true, union_by_name = true)
  WHERE _quiver_rescued IS NOT NULL
)
GROUP BY ALL
ORDER BY ALL;
