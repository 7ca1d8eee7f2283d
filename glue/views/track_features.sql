-- track_features: the latest audio features of every track. audio_features keeps a snapshot per day (dt) and a
-- track may be re-fetched (Spotify or ReccoBeats); the newest snapshot wins.
SELECT track_id, artist_id, danceability, energy, "key", loudness, "mode", speechiness, acousticness,
       instrumentalness, liveness, valence, tempo, duration_ms, via,
       CAST(dt AS VARCHAR) AS features_dt
FROM (
  SELECT track_id, artist_id, danceability, energy, "key", loudness, "mode", speechiness, acousticness,
         instrumentalness, liveness, valence, tempo, duration_ms, via, dt,
         ROW_NUMBER() OVER (PARTITION BY track_id ORDER BY CAST(dt AS VARCHAR) DESC, emitted_at DESC) AS rn
  FROM audio_features
) AS snapshots
WHERE rn = 1
