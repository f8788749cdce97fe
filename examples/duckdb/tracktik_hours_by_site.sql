-- TrackTik: hours worked per site, from closed work sessions joined with
-- clients (TrackTik calls sites "clients"; a session's account is its
-- client id). The five busiest sites.
SELECT c.name                                                    AS site,
       count(*)                                                  AS sessions,
       round(sum(epoch(w.ended_on - w.started_on)) / 3600, 1)    AS hours
FROM read_parquet('out/demo-tracktik/work-sessions/**/*.parquet') AS w
JOIN read_parquet('out/demo-tracktik/clients/**/*.parquet') AS c ON c.id = w.account
WHERE w.ended_on IS NOT NULL
GROUP BY c.name
ORDER BY hours DESC, site
LIMIT 5;
