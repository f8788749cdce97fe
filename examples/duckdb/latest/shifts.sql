-- The latest version of every shift, without rewriting any file. shifts is
-- a lookback stream: every run reads the last days again, so a shift that
-- changed (reassigned, closed) has one row per run that read it. The
-- latest version of a key is the row with the latest _quiver_extracted_at,
-- ties going to the later run (_quiver_run_id sorts by time). `quiver
-- compact` rewrites the files to exactly these rows; the view gives them
-- without it. Run after `quiver demo --resync` (make demo-check does).
CREATE OR REPLACE VIEW shifts_latest AS
SELECT *
FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet')
QUALIFY row_number() OVER (
  PARTITION BY id ORDER BY _quiver_extracted_at DESC, _quiver_run_id DESC) = 1;

-- Rows and keys in the files, and what the view makes of them: one row per
-- shift, and for the shifts read twice, how many changed between the reads.
WITH versions AS (
  SELECT id, count(*) AS n,
         count(DISTINCT (employee, status, started_on, ended_on, hours_count)) AS distinct_values
  FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet')
  GROUP BY id
)
SELECT sum(n) AS rows_in_files,
       count(*) AS shifts,
       (SELECT count(*) FROM shifts_latest) AS latest_rows,
       count(*) FILTER (WHERE n > 1) AS read_again,
       count(*) FILTER (WHERE distinct_values > 1) AS changed,
       (SELECT count(*) FROM shifts_latest l JOIN versions v USING (id)
        WHERE v.n > 1 AND l._quiver_run_id = (SELECT max(_quiver_run_id) FROM shifts_latest)) AS latest_from_second_run
FROM versions;
