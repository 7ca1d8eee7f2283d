"""Every analytics view, run in DuckDB on sample lake data, against numbers computed independently with pandas.

The sample (``local.analytics_sample``) is real-format weekly chart CSVs from the Spotify emulator parsed by the
production parser, with the lake's untidy parts: a chart week ingested twice, tracks without features, older
feature snapshots with other values, and plays read twice. The expectations below re-derive each view from the
same records with pandas (no SQL), so a wrong join, a missed dedup or a wrong season shows up as a wrong number.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from local import analytics_sample as sample
from sori.charts import load_charts
from sori.views import load_views

FEATURES = ["danceability", "energy", "valence", "instrumentalness", "acousticness", "speechiness", "liveness",
            "tempo", "loudness"]
SEASON = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA"}
LOCAL = {"north": {"DJF": "winter", "MAM": "spring", "JJA": "summer", "SON": "autumn"},
         "south": {"DJF": "summer", "MAM": "autumn", "JJA": "winter", "SON": "spring"}}


@pytest.fixture(scope="module")
def records():
    return list(sample.default_sample())


@pytest.fixture(scope="module")
def con(records):
    return sample.sample_duckdb(records)


def view(con, name: str) -> pd.DataFrame:
    """A view as a DataFrame; DATE columns as ``YYYY-MM-DD`` strings (how the lake spells weeks)."""
    df = con.sql(f"SELECT * FROM {name}").df()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%d")
    return df


def frame(records, type_: str) -> pd.DataFrame:
    return pd.DataFrame([{**r["data"], "emitted_at": r["emitted_at"], "dt": r["emitted_at"][:10]}
                         for r in records if r["type"] == type_])


# ------------------------------------------------------------------------------------------ independent model

def latest_features(records) -> pd.DataFrame:
    f = frame(records, "audio_features")
    return f.sort_values(["dt", "emitted_at"]).drop_duplicates("track_id", keep="last")


def chart_rows(records) -> pd.DataFrame:
    e = frame(records, "chart_entry").sort_values(["emitted_at", "dt"])
    e = e.drop_duplicates(["chart_id", "week", "rank"], keep="last")
    charts = load_charts()
    e["hemisphere"] = e["country"].map(lambda c: charts[c].hemisphere)
    month = pd.to_datetime(e["week"]).dt.month
    e["season"] = month.map(lambda m: SEASON.get(m, "SON"))
    feats = latest_features(records)[["track_id", "mode", *FEATURES]]
    return e.merge(feats, on="track_id", how="left")


def expected_profile(records) -> pd.DataFrame:
    top = chart_rows(records)
    top = top[top["rank"] <= 50]
    g = top.groupby(["country", "week"])
    out = g.agg(entries=("rank", "size"), tracks_with_features=("danceability", "count"),
                major_share=("mode", "mean"), hemisphere=("hemisphere", "first"), season=("season", "first"),
                **{f: (f, "mean") for f in FEATURES})
    return out.reset_index()


def close(a, b, rel=1e-9, abs_=1e-9) -> bool:
    """Equal strings, both missing, or numbers equal up to float rounding."""
    if a is None or pd.isna(a) or b is None or pd.isna(b):
        return (a is None or pd.isna(a)) and (b is None or pd.isna(b))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


def assert_frames_match(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], cols: list[str]):
    a = actual.copy()
    e = expected.copy()
    for k in keys:
        a[k] = a[k].astype(str)
        e[k] = e[k].astype(str)
    assert sorted(map(tuple, a[keys].values.tolist())) == sorted(map(tuple, e[keys].values.tolist()))
    m = a.merge(e, on=keys, suffixes=("_view", "_pandas"))
    assert len(m) == len(e)
    for c in cols:
        bad = [(tuple(r[k] for k in keys), r[f"{c}_view"], r[f"{c}_pandas"]) for _, r in m.iterrows()
               if not close(r[f"{c}_view"], r[f"{c}_pandas"])]
        assert not bad, f"{c}: {bad[:3]}"


# ------------------------------------------------------------------------------------------ the views

def test_every_view_returns_rows_on_sample_data(con):
    for v in load_views():
        n = con.sql(f"SELECT count(*) FROM {v.name}").fetchall()[0][0]
        assert n > 0, v.name


def test_chart_countries_is_the_chart_list(con):
    got = view(con, "chart_countries")
    charts = load_charts()
    assert len(got) == len(charts) == 62
    for r in got.itertuples():
        c = charts[r.country]
        assert (r.chart_id, r.country_name, r.hemisphere) == (c.chart_id, c.name, c.hemisphere)


def test_track_features_keeps_the_latest_snapshot(con, records):
    got = view(con, "track_features").set_index("track_id")
    exp = latest_features(records).set_index("track_id")
    assert set(got.index) == set(exp.index)
    stale = frame(records, "audio_features").groupby("track_id").size()
    stale = stale[stale > 1].index
    assert len(stale) > 10  # the sample does carry older snapshots with other values
    for tid in stale:
        assert got.loc[tid, "danceability"] == exp.loc[tid, "danceability"]
        assert got.loc[tid, "tempo"] == exp.loc[tid, "tempo"]
        assert got.loc[tid, "features_dt"] == exp.loc[tid, "dt"]


def test_chart_audio_profile_matches_pandas(con, records):
    got = view(con, "chart_audio_profile")
    exp = expected_profile(records)
    got["week"] = got["week"].astype(str)
    assert_frames_match(got, exp, ["country", "week"],
                        ["entries", "tracks_with_features", "major_share", "hemisphere", "season", *FEATURES])
    # every country with chart data has rows, each week counts a top 50 once (the re-ingested week too)
    assert set(got["country"]) == set(sample.DEFAULT_COUNTRIES)
    assert (got["entries"] == 50).all()
    assert (got["tracks_with_features"] < got["entries"]).any()  # feature gaps are not counted as zeros


def test_chart_tracks_dedups_a_reingested_week_and_labels_seasons(con, records):
    got = view(con, "chart_tracks")
    first_cc, first_week = sample.DEFAULT_COUNTRIES[0], sample.sample_weeks()[0]
    n_raw = sum(1 for r in records if r["type"] == "chart_entry" and r["data"]["country"] == first_cc
                and r["data"]["week"] == first_week)
    assert n_raw == 400  # ingested twice
    week = got[(got["country"] == first_cc) & (got["week"].astype(str) == first_week)]
    assert len(week) == 200 and week["rank"].is_unique
    for r in got.drop_duplicates(["country", "week"]).itertuples():
        m = pd.Timestamp(r.week).month
        assert r.season == SEASON.get(m, "SON")
        assert r.season_year == pd.Timestamp(r.week).year + (1 if m == 12 else 0)
        expected = LOCAL.get(r.hemisphere, {}).get(r.season)  # none for the Global chart
        assert r.local_season == expected or (expected is None and pd.isna(r.local_season))


def test_seasonal_trend_matches_pandas(con, records):
    rows = chart_rows(records)
    top = rows[rows["rank"] <= 50]
    exp = top.groupby(["hemisphere", "week"]).agg(
        countries=("country", "nunique"), entries=("rank", "size"), tracks_with_features=("danceability", "count"),
        major_share=("mode", "mean"), season=("season", "first"),
        **{f: (f, "mean") for f in ["danceability", "energy", "valence", "instrumentalness", "acousticness",
                                    "tempo"]}).reset_index()
    got = view(con, "seasonal_trend")
    got["week"] = got["week"].astype(str)
    assert_frames_match(got, exp, ["hemisphere", "week"],
                        ["countries", "entries", "tracks_with_features", "major_share", "season", "danceability",
                         "energy", "valence", "instrumentalness", "acousticness", "tempo"])
    assert {"north", "south", "global"} <= set(got["hemisphere"])
    assert {"DJF", "JJA"} <= set(got["season"])


def test_chart_feature_scores_are_z_scores_against_the_other_countries(con, records):
    prof = expected_profile(records)
    long = prof.melt(id_vars=["country", "week"], value_vars=[*FEATURES, "major_share"], var_name="feature")
    base = long[long["country"] != "global"].groupby(["week", "feature"])["value"].agg(["mean", "std"])
    long = long.join(base, on=["week", "feature"])
    long["z_score"] = (long["value"] - long["mean"]) / long["std"]
    got = view(con, "chart_feature_scores")
    got["week"] = got["week"].astype(str)
    assert set(got["feature"]) == set(FEATURES) - {"liveness"} | {"major_share"}
    exp = long[long["feature"] != "liveness"]
    assert_frames_match(got, exp, ["country", "week", "feature"], ["value", "z_score"])
    # within a week and feature the countries' z-scores (Global aside) centre on zero
    cz = got[got["country"] != "global"].groupby(["week", "feature"])["z_score"].mean()
    assert np.allclose(cz.values, 0.0, atol=1e-9)


def expected_persistent(records) -> pd.DataFrame:
    rows = chart_rows(records)
    rows = rows[rows["rank"] <= 50]
    credits = []
    for r in rows.itertuples():
        names = list(r.artist_names)
        ids = list(r.artist_ids) if isinstance(r.artist_ids, list) else []
        for pos, name in enumerate(names, start=1):
            aid = ids[pos - 1] if (pos == 1 or len(ids) == len(names)) and len(ids) >= pos else None
            credits.append({"artist_name": name, "artist_id": aid, "chart_week": f"{r.chart_id}@{r.week}",
                            "week": r.week, "country": r.country, "rank": r.rank, "track_id": r.track_id,
                            "streams": r.streams, "weeks_on_chart": r.weeks_on_chart})
    c = pd.DataFrame(credits)
    out = c.groupby("artist_name").agg(
        artist_id=("artist_id", lambda s: s.dropna().max() if s.notna().any() else None),
        chart_weeks=("chart_week", "nunique"), weeks=("week", "nunique"), charts=("country", "nunique"),
        entries=("rank", "size"), tracks=("track_id", "nunique"), best_rank=("rank", "min"),
        avg_rank=("rank", "mean"), streams=("streams", "sum"), longest_run_weeks=("weeks_on_chart", "max"),
        first_week=("week", "min"), last_week=("week", "max")).reset_index()
    key = out["chart_weeks"] * 1_000_000 + out["entries"]
    out["persistence_rank"] = key.rank(method="min", ascending=False).astype(int)
    return out


def test_persistent_artists_matches_pandas(con, records):
    got = view(con, "persistent_artists")
    for c in ("first_week", "last_week"):
        got[c] = got[c].astype(str)
    exp = expected_persistent(records)
    assert_frames_match(got, exp, ["artist_name"],
                        ["chart_weeks", "weeks", "charts", "entries", "tracks", "best_rank", "avg_rank", "streams",
                         "longest_run_weeks", "persistence_rank"])
    m = got.merge(exp, on="artist_name")
    assert (m["artist_id_x"].fillna("") == m["artist_id_y"].fillna("")).all()
    assert (m["first_week_x"] == m["first_week_y"]).all() and (m["last_week_x"] == m["last_week_y"]).all()
    top = got.sort_values("persistence_rank").iloc[0]
    assert top["chart_weeks"] == exp["chart_weeks"].max()


def test_artist_feature_profile_matches_pandas(con, records):
    feats = latest_features(records)
    rows = chart_rows(records)
    pairs = set(map(tuple, frame(records, "top_track")[["artist_id", "track_id"]].values.tolist()))
    pairs |= set(map(tuple, feats[feats["artist_id"].notna()][["artist_id", "track_id"]].values.tolist()))
    for r in rows.itertuples():
        for aid in (r.artist_ids if isinstance(r.artist_ids, list) else []):
            pairs.add((aid, r.track_id))
    p = pd.DataFrame(sorted(pairs), columns=["artist_id", "track_id"])
    p = p.merge(feats[["track_id", "mode", *FEATURES]], on="track_id", how="left")
    exp = p.groupby("artist_id").agg(tracks=("track_id", "size"), tracks_with_features=("danceability", "count"),
                                     major_share=("mode", "mean"),
                                     **{f: (f, "mean") for f in FEATURES if f != "liveness"}).reset_index()
    art = frame(records, "artist").sort_values(["dt", "emitted_at"]).drop_duplicates("artist_id", keep="last")
    exp = exp.merge(art[["artist_id", "name", "popularity"]], on="artist_id", how="left")
    exp = exp.rename(columns={"name": "artist_name"})
    got = view(con, "artist_feature_profile")
    assert_frames_match(got, exp, ["artist_id"],
                        ["tracks", "tracks_with_features", "major_share", "artist_name", "popularity",
                         *[f for f in FEATURES if f != "liveness"]])
    genres = art.set_index("artist_id")["genres"]
    g = got.set_index("artist_id")["primary_genre"]
    for aid, first in g.items():
        gl = genres.get(aid)
        assert first == (gl[0] if isinstance(gl, list) and gl else None)


def test_listening_summary_matches_pandas(con, records):
    p = frame(records, "play").sort_values("emitted_at").drop_duplicates(["user_id", "played_at"], keep="last")
    assert len(p) < sum(1 for r in records if r["type"] == "play")  # the sample re-reads some plays
    feats = latest_features(records)
    p = p.merge(feats[["track_id", "danceability", "energy", "valence", "tempo"]], on="track_id", how="left")
    p["day"] = p["played_at"].str[:10]
    p["lead"] = p["artist_names"].map(lambda a: a[0] if isinstance(a, list) and a else None)
    rows = []
    for (user, day), g in p.groupby(["user_id", "day"]):
        counts = g["lead"].value_counts()
        top = sorted(counts[counts == counts.max()].index)[0]
        rows.append({"user_id": user, "day": day, "plays": len(g), "unique_tracks": g["track_id"].nunique(),
                     "unique_artists": g["lead"].nunique(), "minutes": g["duration_ms"].sum() / 60000.0,
                     "top_artist": top, "tracks_with_features": g["danceability"].count(),
                     **{f: g[f].mean() for f in ("danceability", "energy", "valence", "tempo")}})
    exp = pd.DataFrame(rows)
    got = view(con, "listening_summary")
    got["day"] = got["day"].astype(str)
    assert_frames_match(got, exp, ["user_id", "day"],
                        ["plays", "unique_tracks", "unique_artists", "minutes", "top_artist",
                         "tracks_with_features", "danceability", "energy", "valence", "tempo"])


def test_importing_one_weekly_csv_adds_that_country_week(records):
    """A real-format weekly CSV for a country not in the lake yet shows up in every chart view."""
    week = sample.sample_weeks()[3]
    csv_text = sample.chart_csv("jp", week)
    new = sample.chart_week_records("jp", week, csv_text=csv_text.encode("utf-8"))
    new += sample.features_records([r["data"]["track_id"] for r in new], f"{week}T12:00:00Z", gap_rate=0,
                                   stale_rate=0)
    before = sample.sample_duckdb(records)
    after = sample.sample_duckdb([*records, *new])
    prof = view(after, "chart_audio_profile")
    jp = prof[prof["country"] == "jp"]
    assert len(jp) == 1 and str(jp.iloc[0]["week"]) == week and jp.iloc[0]["entries"] == 50
    assert jp.iloc[0]["country_name"] == "Japan" and jp.iloc[0]["hemisphere"] == "north"
    assert view(before, "chart_audio_profile")["country"].ne("jp").all()

    def north(c):
        t = view(c, "seasonal_trend")
        return t[(t["hemisphere"] == "north") & (t["week"].astype(str) == week)].iloc[0]

    assert north(after)["entries"] == north(before)["entries"] + 50
    assert north(after)["countries"] == north(before)["countries"] + 1
    scores = view(after, "chart_feature_scores")
    assert set(scores[scores["country"] == "jp"]["feature"]) >= {"danceability", "energy", "valence", "tempo"}


# ------------------------------------------------------------------------------------------ on the real lake path

def _write_lake(records, bucket: str):
    """Records → parquet objects in (moto) S3, laid out and named as the s3 sink writes them."""
    import boto3

    from sori.lake import LakeStorage, conform, object_name, to_parquet

    boto3.client("s3").create_bucket(Bucket=bucket,
                                     CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    storage = LakeStorage(bucket, "lake")
    for table, t in sample.lake_tables(records).items():
        for i, dt in enumerate(sorted(set(t.column("dt").to_pylist()))):
            part = t.filter(pc.equal(t.column("dt"), dt)).drop_columns(["dt"])
            storage.put(storage.key(table, dt, object_name("shardId-000000000000", str(i), str(i))),
                        to_parquet(conform(part, table)))
    return storage


def test_views_run_on_the_parquet_lake_in_s3(aws):
    """The same views over LakeDuck (parquet in moto S3, dt from the hive path) give the in-memory numbers."""
    from sori.duck import LakeDuck
    from sori.settings import Settings
    from sori.views import install_duckdb

    weeks = sample.sample_weeks()[:2]
    recs = sample.sample_records(countries=("kr", "au"), weeks=weeks, listening_days=1)
    _write_lake(recs, "sori-views-test")
    with LakeDuck(Settings(bucket="sori-views-test", lake_prefix="lake", region="ap-northeast-2")) as duck:
        duck.register()
        install_duckdb(duck.con)
        expected = sample.sample_duckdb(recs)
        for name in ("chart_audio_profile", "seasonal_trend", "persistent_artists", "listening_summary"):
            order = {"chart_audio_profile": "country, week", "seasonal_trend": "hemisphere, week",
                     "persistent_artists": "artist_name", "listening_summary": "user_id, day"}[name]
            got = duck.con.sql(f"SELECT * FROM {name} ORDER BY {order}").df()
            exp = expected.sql(f"SELECT * FROM {name} ORDER BY {order}").df()
            assert len(got) > 0
            pd.testing.assert_frame_equal(got, exp, check_dtype=False)
        assert set(duck.con.sql("SELECT country FROM chart_audio_profile").df()["country"]) == {"kr", "au"}


def test_views_deploy_to_athena_in_dependency_order(aws):
    """`sori views deploy --engine athena`: one CREATE OR REPLACE VIEW per view, dependencies first, in the
    Glue database through the workgroup (moto's Athena records the statements; it does not run SQL)."""
    import boto3

    from sori.settings import Settings
    from sori.views import deploy_athena

    boto3.client("s3").create_bucket(Bucket="sori-results",
                                     CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    athena = boto3.client("athena")
    athena.create_work_group(Name="sori-analytics", Configuration={
        "ResultConfiguration": {"OutputLocation": "s3://sori-results/athena-results/"}})
    views = load_views()
    ids = deploy_athena(views, settings=Settings(glue_database="sori", athena_workgroup="sori-analytics"))
    assert len(ids) == len(views)
    created = []
    for qid in ids:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        assert q["Status"]["State"] == "SUCCEEDED"
        assert q["QueryExecutionContext"]["Database"] == "sori" and q["WorkGroup"] == "sori-analytics"
        head = q["Query"].split("\n", 1)[0]
        assert head.startswith("CREATE OR REPLACE VIEW ") and head.endswith(" AS")
        created.append(head.split()[4])
    assert created == [v.name for v in views]
    pos = {n: i for i, n in enumerate(created)}
    for v in views:
        assert all(pos[d] < pos[v.name] for d in v.depends)
