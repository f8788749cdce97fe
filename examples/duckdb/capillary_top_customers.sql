-- Capillary: the five customers who spent most, joining transactions with
-- customers; names sit in the first profile (a list of structs), the tier
-- in loyalty_info.
SELECT c.user_id,
       c.profiles[1].first_name || ' ' || c.profiles[1].last_name  AS name,
       c.loyalty_info.current_slab                                AS slab,
       count(*)                                                   AS transactions,
       round(sum(t.amount), 2)                                    AS spent
FROM read_parquet('out/demo-capillary/transactions/**/*.parquet') AS t
JOIN read_parquet('out/demo-capillary/customers/**/*.parquet') AS c USING (user_id)
GROUP BY ALL
ORDER BY spent DESC, c.user_id
LIMIT 5;
