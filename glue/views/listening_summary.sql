-- listening_summary: the listening user's day (UTC) at a glance: plays, distinct tracks and artists, minutes
-- listened, the most played artist and the average sound of what was played. A play re-read from the
-- recently-played window is counted once (plays are keyed by user and played_at).
WITH unique_plays AS (
  SELECT user_id, played_at, track_id, artist_names, duration_ms,
         ROW_NUMBER() OVER (PARTITION BY user_id, played_at ORDER BY emitted_at DESC) AS rn
  FROM plays
),
day_plays AS (
  SELECT p.user_id, CAST(substr(p.played_at, 1, 10) AS DATE) AS day, p.track_id,
         CASE WHEN cardinality(p.artist_names) > 0 THEN p.artist_names[1] END AS lead_artist,
         COALESCE(p.duration_ms, f.duration_ms) AS duration_ms,
         f.danceability, f.energy, f.valence, f.tempo
  FROM unique_plays AS p
  LEFT JOIN track_features AS f ON f.track_id = p.track_id
  WHERE p.rn = 1
),
artist_rank AS (
  SELECT user_id, day, lead_artist,
         ROW_NUMBER() OVER (PARTITION BY user_id, day ORDER BY COUNT(*) DESC, lead_artist) AS r
  FROM day_plays
  WHERE lead_artist IS NOT NULL
  GROUP BY user_id, day, lead_artist
)
SELECT d.user_id, d.day,
       COUNT(*) AS plays,
       COUNT(DISTINCT d.track_id) AS unique_tracks,
       COUNT(DISTINCT d.lead_artist) AS unique_artists,
       CAST(SUM(d.duration_ms) AS DOUBLE) / 60000.0 AS minutes,
       MAX(r.lead_artist) AS top_artist,
       COUNT(d.danceability) AS tracks_with_features,
       AVG(d.danceability) AS danceability,
       AVG(d.energy) AS energy,
       AVG(d.valence) AS valence,
       AVG(d.tempo) AS tempo
FROM day_plays AS d
LEFT JOIN artist_rank AS r ON r.user_id = d.user_id AND r.day = d.day AND r.r = 1
GROUP BY d.user_id, d.day
