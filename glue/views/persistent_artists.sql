-- persistent_artists: artists ranked by how long they hold on to the charts: chart_weeks counts distinct
-- (chart, week) pairs in which any of their tracks is in the top 200 (featured artists included). Ties are broken
-- by entries. artist_id is known where the chart producer resolved it.
WITH credits AS (
  SELECT t.chart_id, t.country, t.week, t.rank, t.track_id, t.streams, t.weeks_on_chart, a.artist_name,
         CASE WHEN cardinality(t.artist_ids) >= a.pos THEN t.artist_ids[a.pos] END AS artist_id
  FROM chart_tracks AS t
  CROSS JOIN UNNEST(t.artist_names) WITH ORDINALITY AS a (artist_name, pos)
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
