// Smoke test of the Feast peer that test/services installs: a tiny feature repo (local provider,
// file offline store, SQLite online store, so that it needs no other service) goes through
// `feast apply` and `feast materialize`, and the Python SDK's get_online_features returns the
// exact values written to the parquet source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireEndpoint } from '../services/endpoints.js';

const execFileAsync = promisify(execFile);

const featureStoreYaml = `project: fg_smoke
registry: data/registry.db
provider: local
online_store:
  type: sqlite
  path: data/online_store.db
offline_store:
  type: file
entity_key_serialization_version: 3
`;

const definitions = (parquet: string) => `from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Int64, String

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="driver_id", dtype=Int64),
        Field(name="conv_rate", dtype=Float32),
        Field(name="trips", dtype=Int64),
        Field(name="city", dtype=String),
    ],
    online=True,
    source=FileSource(path=${JSON.stringify(parquet)}, timestamp_field="event_timestamp"),
)
`;

// Two rows for driver 1001: materialize must keep the later one. 0.25 is exact in float32.
const writeParquet = `import sys
import pandas as pd

ts = pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-01T12:00:00Z"], utc=True)
pd.DataFrame({
    "driver_id": pd.array([1001, 1001, 1002], dtype="int64"),
    "event_timestamp": ts,
    "conv_rate": pd.array([0.5, 0.25, 0.75], dtype="float32"),
    "trips": pd.array([10, 12, 7], dtype="int64"),
    "city": ["Lyon", "Paris", "Nice"],
}).to_parquet(sys.argv[1])
`;

const readOnline = `import json
import sys

from feast import FeatureStore

store = FeatureStore(repo_path=sys.argv[1])
features = ["driver_stats:conv_rate", "driver_stats:trips", "driver_stats:city"]
rows = [{"driver_id": 1001}, {"driver_id": 1002}, {"driver_id": 4040}]
print(json.dumps(store.get_online_features(features=features, entity_rows=rows).to_dict()))
`;

test('feast: apply, materialize and get_online_features return the exact values', { timeout: 240_000 }, async () => {
  const { python, feast } = requireEndpoint('feast');
  const repo = await mkdtemp(join(tmpdir(), 'fg-feast-smoke-'));
  try {
    const parquet = join(repo, 'data', 'driver_stats.parquet');
    await mkdir(join(repo, 'data'));
    await writeFile(join(repo, 'feature_store.yaml'), featureStoreYaml);
    await writeFile(join(repo, 'definitions.py'), definitions(parquet));
    await execFileAsync(python, ['-c', writeParquet, parquet]);

    await execFileAsync(feast, ['apply'], { cwd: repo });
    await execFileAsync(feast, ['materialize', '2025-12-01T00:00:00', '2026-02-01T00:00:00'], { cwd: repo });

    const { stdout } = await execFileAsync(python, ['-c', readOnline, repo]);
    const online = JSON.parse(stdout) as Record<string, unknown[]>;
    assert.deepEqual(online, {
      driver_id: [1001, 1002, 4040],
      conv_rate: [0.25, 0.75, null],
      trips: [12, 7, null],
      city: ['Paris', 'Nice', null],
    });
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
});
