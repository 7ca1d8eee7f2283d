-- related_collections: which artists appear in which collections (playlist, chart-week, listening session)
-- within the co-occurrence window, one row per (kind, collection_id, artist_id).
-- params: since, until
-- Reads only the dt partitions in [since, until] of collection_members. Common subset of Trino and DuckDB SQL.
SELECT kind, collection_id, artist_id,
       max(collection_name) AS collection_name,
       count(DISTINCT track_id) AS tracks
FROM collection_members
WHERE dt >= ? AND dt <= ?
GROUP BY kind, collection_id, artist_id
ORDER BY kind, collection_id, artist_id
