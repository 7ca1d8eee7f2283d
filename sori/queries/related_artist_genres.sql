-- related_artist_genres: each artist's genre labels from its newest artist record in the window, one row per
-- (artist_id, genre), for the related builder's genre signal.
-- params: since, until
-- Reads only the dt partitions in [since, until] of artists. Common subset of Trino and DuckDB SQL.
WITH latest AS (
  SELECT artist_id, genres,
         row_number() OVER (PARTITION BY artist_id ORDER BY dt DESC, emitted_at DESC) AS rn
  FROM artists
  WHERE dt >= ? AND dt <= ?
)
SELECT DISTINCT l.artist_id, g.genre
FROM latest l
CROSS JOIN UNNEST(l.genres) AS g (genre)
WHERE l.rn = 1 AND g.genre IS NOT NULL
ORDER BY l.artist_id, g.genre
