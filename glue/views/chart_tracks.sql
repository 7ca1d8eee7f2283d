-- chart_tracks: one row per chart entry (chart × week × rank) with the chart's country and hemisphere, the season
-- of the chart week and the track's latest audio features (NULL where no features are known yet).
-- A re-ingested chart week is counted once: the latest emission of each (chart, week, rank) wins.
-- season is meteorological (DJF, MAM, JJA, SON); season_year puts December into the next year's DJF;
-- local_season is what that season is in the chart's hemisphere (DJF is winter in the north, summer in the south).
WITH entries AS (
  SELECT chart_id, country, CAST(week AS DATE) AS week, rank, track_id, track_name, artist_names, artist_ids,
         streams, peak_rank, previous_rank, weeks_on_chart,
         ROW_NUMBER() OVER (PARTITION BY chart_id, week, rank ORDER BY emitted_at DESC, CAST(dt AS VARCHAR) DESC)
           AS rn
  FROM chart_entries
),
dated AS (
  SELECT e.*, EXTRACT(YEAR FROM week) AS year, EXTRACT(MONTH FROM week) AS month
  FROM entries AS e
  WHERE rn = 1
),
seasoned AS (
  SELECT d.*,
         CASE WHEN month IN (12, 1, 2) THEN 'DJF' WHEN month IN (3, 4, 5) THEN 'MAM'
              WHEN month IN (6, 7, 8) THEN 'JJA' ELSE 'SON' END AS season,
         CASE WHEN month = 12 THEN year + 1 ELSE year END AS season_year
  FROM dated AS d
)
SELECT s.chart_id, s.country, COALESCE(c.country_name, upper(s.country)) AS country_name,
       COALESCE(c.hemisphere, 'unknown') AS hemisphere,
       s.week, s.year, s.month, s.season, s.season_year,
       CASE
         WHEN c.hemisphere = 'north' THEN
           CASE s.season WHEN 'DJF' THEN 'winter' WHEN 'MAM' THEN 'spring' WHEN 'JJA' THEN 'summer' ELSE 'autumn' END
         WHEN c.hemisphere = 'south' THEN
           CASE s.season WHEN 'DJF' THEN 'summer' WHEN 'MAM' THEN 'autumn' WHEN 'JJA' THEN 'winter' ELSE 'spring' END
       END AS local_season,
       s.rank, s.track_id, s.track_name,
       CASE WHEN cardinality(s.artist_names) > 0 THEN s.artist_names[1] END AS lead_artist,
       s.artist_names, s.artist_ids, s.streams, s.peak_rank, s.previous_rank, s.weeks_on_chart,
       f.danceability, f.energy, f."key", f.loudness, f."mode", f.speechiness, f.acousticness,
       f.instrumentalness, f.liveness, f.valence, f.tempo
FROM seasoned AS s
LEFT JOIN chart_countries AS c ON c.country = s.country
LEFT JOIN track_features AS f ON f.track_id = s.track_id
