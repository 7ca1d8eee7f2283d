-- related_track_features: each artist's current top tracks with the latest audio features of each track,
-- one row per (artist_id, track_id), for the related builder's audio profiles.
-- params: since, until, since, until
-- Reads only the dt partitions in [since, until] of top_tracks and audio_features. The nightly refresh
-- re-emits a slice of the catalog each night, so "latest" is per artist (its newest top-track snapshot)
-- and per track (its newest features), not one global dt. Tracks the features producer tied to an artist
-- (audio_features.artist_id) but that are not among its top tracks are included with a NULL rank.
-- Common subset of Trino (Athena v3) and DuckDB SQL.
WITH tt AS (
  SELECT artist_id, track_id, "rank", duration_ms, dt,
         max(dt) OVER (PARTITION BY artist_id) AS latest_dt
  FROM top_tracks
  WHERE dt >= ? AND dt <= ?
),
feats AS (
  SELECT track_id, artist_id, danceability, energy, loudness, speechiness, acousticness,
         instrumentalness, liveness, valence, tempo, "key", "mode", duration_ms,
         row_number() OVER (PARTITION BY track_id ORDER BY dt DESC, emitted_at DESC) AS rn
  FROM audio_features
  WHERE dt >= ? AND dt <= ?
),
links AS (
  SELECT artist_id, track_id, min("rank") AS track_rank, max(duration_ms) AS track_duration_ms
  FROM tt
  WHERE dt = latest_dt
  GROUP BY artist_id, track_id
),
extra AS (
  SELECT f.artist_id, f.track_id, CAST(NULL AS BIGINT) AS track_rank, CAST(NULL AS BIGINT) AS track_duration_ms
  FROM feats f
  WHERE f.rn = 1 AND f.artist_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM links l WHERE l.artist_id = f.artist_id AND l.track_id = f.track_id)
),
all_links AS (
  SELECT artist_id, track_id, track_rank, track_duration_ms FROM links
  UNION ALL
  SELECT artist_id, track_id, track_rank, track_duration_ms FROM extra
)
SELECT l.artist_id, l.track_id, l.track_rank,
       f.danceability, f.energy, f.loudness, f.speechiness, f.acousticness, f.instrumentalness,
       f.liveness, f.valence, f.tempo, f."key", f."mode",
       COALESCE(f.duration_ms, l.track_duration_ms) AS duration_ms
FROM all_links l
JOIN feats f ON f.track_id = l.track_id AND f.rn = 1
ORDER BY l.artist_id, l.track_rank, l.track_id
