-- chart_countries: every tracked chart (Global + 61 countries) with its display name and hemisphere.
-- The list has one source of truth, sori/data/charts.csv: `sori views deploy` expands {{countries}} into a
-- VALUES list from that file, so adding a chart there and redeploying the views is all it takes.
SELECT chart_id, country, country_name, hemisphere
FROM (
  VALUES {{countries}}
) AS t (chart_id, country, country_name, hemisphere)
