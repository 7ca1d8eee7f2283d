-- seasonal_trend: the top-50 sound of each hemisphere, week by week, to compare DJF with JJA (northern winter is
-- southern summer). Averages pool every top-50 entry with audio features of that hemisphere's charts that week;
-- the Global chart is its own series (hemisphere = 'global').
SELECT hemisphere, week, year, month, season, season_year, local_season,
       COUNT(DISTINCT country) AS countries,
       COUNT(*) AS entries,
       COUNT(danceability) AS tracks_with_features,
       AVG(danceability) AS danceability,
       AVG(energy) AS energy,
       AVG(valence) AS valence,
       AVG(instrumentalness) AS instrumentalness,
       AVG(acousticness) AS acousticness,
       AVG(tempo) AS tempo,
       AVG(CAST("mode" AS DOUBLE)) AS major_share
FROM chart_tracks
WHERE rank <= 50
GROUP BY hemisphere, week, year, month, season, season_year, local_season
