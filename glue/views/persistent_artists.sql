-- persistent_artists: artists ranked by how long they hold on to the charts: chart_weeks counts distinct
-- (chart, week) pairs in which any of their tracks is in the top 50 (featured artists included); ties are broken
-- by entries. Top 50, because every chart source covers it (the Top 50 playlist, or the first 50 rows of the
-- 200-row weekly CSV). artist_id is the chart entry's id for that artist where it can be told: the lead artist is
-- first in both lists, and the lists line up entirely when the producer resolved every name.
WITH credits AS (
  SELECT t.chart_id, t.country, t.week, t.rank, t.track_id, t.streams, t.weeks_on_chart, a.artist_name,
         CASE WHEN (a.pos = 1 OR cardinality(t.artist_ids) = cardinality(t.artist_names))
                   AND cardinality(t.artist_ids) >= a.pos THEN t.artist_ids[a.pos] END AS artist_id
  FROM chart_tracks AS t
  CROSS JOIN UNNEST(t.artist_names) WITH ORDINALITY AS a (artist_name, pos)
  WHERE t.rank <= 50
)
SELECT artist_name,
       MAX(artist_id) AS artist_id,
       COUNT(DISTINCT chart_id || '@' || CAST(week AS VARCHAR)) AS chart_weeks,
       COUNT(DISTINCT week) AS weeks,
       COUNT(DISTINCT country) AS charts,
       COUNT(*) AS entries,
       COUNT(DISTINCT track_id) AS tracks,
       MIN(rank) AS best_rank,
       AVG(CAST(rank AS DOUBLE)) AS avg_rank,
       CAST(SUM(streams) AS BIGINT) AS streams,
       MAX(weeks_on_chart) AS longest_run_weeks,
       MIN(week) AS first_week,
       MAX(week) AS last_week,
       RANK() OVER (ORDER BY COUNT(DISTINCT chart_id || '@' || CAST(week AS VARCHAR)) DESC, COUNT(*) DESC)
         AS persistence_rank
FROM credits
GROUP BY artist_name
