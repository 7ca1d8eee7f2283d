-- artist_feature_profile: the average sound of each artist over every track we know is theirs (their top tracks,
-- tracks whose features name them, and chart entries crediting them), with the latest artist snapshot's name,
-- first genre and popularity. tracks counts known tracks; averages cover those with audio features.
WITH artist_tracks AS (
  SELECT artist_id, track_id FROM top_tracks
  UNION
  SELECT artist_id, track_id FROM track_features WHERE artist_id IS NOT NULL
  UNION
  SELECT c.artist_id, t.track_id
  FROM chart_tracks AS t
  CROSS JOIN UNNEST(t.artist_ids) AS c (artist_id)
),
latest_artist AS (
  SELECT artist_id, name, popularity, followers,
         CASE WHEN cardinality(genres) > 0 THEN genres[1] END AS primary_genre,
         ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY CAST(dt AS VARCHAR) DESC, emitted_at DESC) AS rn
  FROM artists
)
SELECT x.artist_id, a.name AS artist_name, a.primary_genre, a.popularity, a.followers,
       COUNT(*) AS tracks,
       COUNT(f.danceability) AS tracks_with_features,
       AVG(f.danceability) AS danceability,
       AVG(f.energy) AS energy,
       AVG(f.valence) AS valence,
       AVG(f.instrumentalness) AS instrumentalness,
       AVG(f.acousticness) AS acousticness,
       AVG(f.speechiness) AS speechiness,
       AVG(f.tempo) AS tempo,
       AVG(f.loudness) AS loudness,
       AVG(CAST(f."mode" AS DOUBLE)) AS major_share
FROM artist_tracks AS x
LEFT JOIN latest_artist AS a ON a.artist_id = x.artist_id AND a.rn = 1
LEFT JOIN track_features AS f ON f.track_id = x.track_id
WHERE x.artist_id IS NOT NULL
GROUP BY x.artist_id, a.name, a.primary_genre, a.popularity, a.followers
