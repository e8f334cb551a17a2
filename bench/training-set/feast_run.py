"""Feast's side of the training-set benchmark (bench/training-set/run.ts), in the Feast venv's Python.

    python feast_run.py setup <repo-dir> <history.parquet> <ttl-ms>
    python feast_run.py run   <repo-dir> <rows.parquet> <out.parquet> [served]

setup (not measured as the training set): a copy of the history whose timestamps are tz-aware UTC
(Feast otherwise converts every timestamp with a per-row Python lambda, which would be measuring a
mistake of ours), a FileSource over it (event timestamp = event_time, created timestamp =
available_time), a FeatureView f0..f9 with the ttl, registered with FeatureStore.apply.

run (measured): the entity rows read into pandas (their timestamps made tz-aware UTC the vectorized
way), get_historical_features(...).to_df(), the frame written to Parquet. With "served",
filter_by_created_timestamp=True. Each prints one JSON line: seconds, rows and peak RSS.
"""

import json
import os
import resource
import sys
import time
from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.repo_config import RepoConfig
from feast.types import Float64, Int64, String

FLOATS = [f"f{i}" for i in range(5)]
INTS = [f"f{i}" for i in range(5, 10)]


def store_for(repo):
    config = RepoConfig(
        project="fg_bench_training_set",
        registry=os.path.join(repo, "registry.db"),
        provider="local",
        online_store={"type": "sqlite", "path": os.path.join(repo, "online.db")},
        offline_store={"type": "file"},
        entity_key_serialization_version=3,
        repo_path=repo,
    )
    return FeatureStore(config=config)


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def setup(repo, history, ttl_ms):
    started = time.time()
    os.makedirs(repo, exist_ok=True)
    frame = pd.read_parquet(history)
    for column in ("event_time", "available_time"):
        frame[column] = frame[column].dt.tz_localize("UTC")
    source_path = os.path.join(repo, "history_utc.parquet")
    frame.to_parquet(source_path, index=False)
    rows = len(frame)
    del frame
    item = Entity(name="item", join_keys=["key"], value_type=ValueType.STRING)
    view = FeatureView(
        name="bench_items",
        entities=[item],
        ttl=timedelta(milliseconds=ttl_ms),
        schema=[Field(name="key", dtype=String)]
        + [Field(name=name, dtype=Float64) for name in FLOATS]
        + [Field(name=name, dtype=Int64) for name in INTS],
        online=False,
        source=FileSource(path=source_path, timestamp_field="event_time", created_timestamp_column="available_time"),
    )
    store_for(repo).apply([item, view])
    print(json.dumps({"seconds": round(time.time() - started, 2), "rows": rows, "peak_rss_mb": peak_rss_mb()}))


def run(repo, rows_path, out, served):
    store = store_for(repo)
    started = time.time()
    entity_df = pd.read_parquet(rows_path).rename(columns={"as_of": "event_timestamp"})
    entity_df["event_timestamp"] = entity_df["event_timestamp"].dt.tz_localize("UTC")
    features = [f"bench_items:{name}" for name in FLOATS + INTS]
    frame = store.get_historical_features(entity_df=entity_df, features=features, filter_by_created_timestamp=served).to_df()
    # Back to the rows' own column name and naive UTC timestamps, as the other variants write them.
    frame = frame.rename(columns={"event_timestamp": "as_of"})
    frame["as_of"] = frame["as_of"].dt.tz_localize(None)
    frame.to_parquet(out, index=False)
    seconds = time.time() - started
    print(json.dumps({"seconds": round(seconds, 2), "rows": len(frame), "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif command == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], len(sys.argv) > 5 and sys.argv[5] == "served")
    else:
        raise SystemExit(f"unknown command {command!r}: setup or run")
