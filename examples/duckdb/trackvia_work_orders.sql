-- TrackVia: work orders per priority. View columns are named as TrackVia
-- shows them, so quote them; a checkbox field is a list of the checked
-- options, a date field a DATE.
SELECT coalesce("Priority", '(none)')                              AS priority,
       count(*)                                                    AS work_orders,
       count(*) FILTER (WHERE list_contains("Completed", 'Yes'))   AS completed,
       min("Due Date")                                             AS first_due
FROM read_parquet('out/demo-trackvia/work_orders/**/*.parquet')
GROUP BY ALL
ORDER BY priority;
