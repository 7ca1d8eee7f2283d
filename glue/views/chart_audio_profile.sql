-- chart_audio_profile: what each chart's top 50 sounds like, per country and chart week. Averages are over the
-- top-50 entries whose track has audio features (tracks_with_features of entries); major_share is the share of
-- those tracks in a major key (mode = 1). tempo is in BPM, loudness in dB, the rest 0–1.
SELECT chart_id, country, country_name, hemisphere, week, season, season_year, local_season,
       COUNT(*) AS entries,
       COUNT(danceability) AS tracks_with_features,
       AVG(danceability) AS danceability,
       AVG(energy) AS energy,
       AVG(valence) AS valence,
       AVG(instrumentalness) AS instrumentalness,
       AVG(acousticness) AS acousticness,
       AVG(speechiness) AS speechiness,
       AVG(liveness) AS liveness,
       AVG(tempo) AS tempo,
       AVG(loudness) AS loudness,
       AVG(CAST("mode" AS DOUBLE)) AS major_share
FROM chart_tracks
WHERE rank <= 50
GROUP BY chart_id, country, country_name, hemisphere, week, season, season_year, local_season
