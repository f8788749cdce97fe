-- Getting rescued values back with json_extract, in the output of
-- `quiver demo --variant alt`. Where a value came in a JSON type its column
-- does not take, the column is NULL and _quiver_rescued holds the value as
-- the vendor sent it, so coalesce(column, <the value read from the rescue>)
-- gives every record's value:
--   Capillary amounts that came as {"value": 12.5, "currency": "INR"},
--   TrackTik accounts expanded to {"id": 17, "resource": "clients"},
--   TrackVia revenues written as text ("$1,234.56"),
--   Trackunit event end times that came as {"time": "...", "by": "system"}.
-- The totals equal those of the default demo, whose values all fit their
-- columns: nothing was lost.
SELECT 'demo-capillary.transactions' AS stream, 'amount' AS column_name,
       count(amount) AS as_typed,
       count(*) FILTER (WHERE amount IS NULL AND json_extract(_quiver_rescued, '$.amount') IS NOT NULL) AS rescued,
       round(sum(coalesce(amount, json_extract(_quiver_rescued, '$.amount.value')::DOUBLE)), 2) AS total
FROM read_parquet('out/demo-capillary/transactions/**/*.parquet')
UNION ALL
SELECT 'demo-tracktik.shifts', 'account',
       count(account),
       count(*) FILTER (WHERE account IS NULL AND json_extract(_quiver_rescued, '$.account') IS NOT NULL),
       count(DISTINCT coalesce(account, json_extract(_quiver_rescued, '$.account.id')::BIGINT))
FROM read_parquet('out/demo-tracktik/shifts/**/*.parquet')
UNION ALL
SELECT 'demo-trackvia.all_contacts', 'Revenue',
       count("Revenue"),
       count(*) FILTER (WHERE "Revenue" IS NULL AND json_extract(_quiver_rescued, '$.Revenue') IS NOT NULL),
       round(sum(coalesce("Revenue",
         replace(replace(json_extract_string(_quiver_rescued, '$.Revenue'), '$', ''), ',', '')::DOUBLE)), 2)
FROM read_parquet('out/demo-trackvia/all_contacts/**/*.parquet')
UNION ALL
SELECT 'demo-trackunit.asset_events', 'time_off',
       count(time_off),
       count(*) FILTER (WHERE time_off IS NULL AND json_extract(_quiver_rescued, '$.timeOff') IS NOT NULL),
       count(coalesce(time_off, json_extract_string(_quiver_rescued, '$.timeOff.time')::TIMESTAMPTZ))
FROM read_parquet('out/demo-trackunit/asset_events/**/*.parquet')
ORDER BY stream;
