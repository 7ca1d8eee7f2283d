-- chart_feature_scores: chart_audio_profile in long form (one row per country × week × feature) with a z-score
-- against the other countries' charts of the same week, so features on different scales (BPM, dB, 0–1) share one
-- colour scale in a country × feature heatmap. The Global chart is scored but is not part of the baseline.
WITH features (feature, feature_order, feature_label, unit) AS (
  VALUES ('danceability', 1, 'Danceability', '0–1'),
         ('energy', 2, 'Energy', '0–1'),
         ('valence', 3, 'Valence (positiveness)', '0–1'),
         ('instrumentalness', 4, 'Instrumentalness', '0–1'),
         ('acousticness', 5, 'Acousticness', '0–1'),
         ('speechiness', 6, 'Speechiness', '0–1'),
         ('tempo', 7, 'Tempo', 'BPM'),
         ('loudness', 8, 'Loudness', 'dB'),
         ('major_share', 9, 'Major-key share', '0–1')
),
long_form AS (
  SELECT p.chart_id, p.country, p.country_name, p.hemisphere, p.week, p.season, p.tracks_with_features,
         f.feature, f.feature_order, f.feature_label, f.unit,
         CASE f.feature
           WHEN 'danceability' THEN p.danceability WHEN 'energy' THEN p.energy WHEN 'valence' THEN p.valence
           WHEN 'instrumentalness' THEN p.instrumentalness WHEN 'acousticness' THEN p.acousticness
           WHEN 'speechiness' THEN p.speechiness WHEN 'tempo' THEN p.tempo WHEN 'loudness' THEN p.loudness
           WHEN 'major_share' THEN p.major_share
         END AS value
  FROM chart_audio_profile AS p
  CROSS JOIN features AS f
),
scored AS (
  SELECT l.*,
         AVG(CASE WHEN country <> 'global' THEN value END) OVER (PARTITION BY week, feature) AS week_mean,
         STDDEV_SAMP(CASE WHEN country <> 'global' THEN value END) OVER (PARTITION BY week, feature) AS week_stddev
  FROM long_form AS l
  WHERE value IS NOT NULL
)
SELECT chart_id, country, country_name, hemisphere, week, season, tracks_with_features,
       feature, feature_order, feature_label, unit, value, week_mean,
       CASE WHEN week_stddev > 0 THEN (value - week_mean) / week_stddev END AS z_score
FROM scored
