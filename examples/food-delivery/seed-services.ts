// Loads the food-delivery demo's tables and collections into real services, for the seed scenario:
//   node --import tsx examples/food-delivery/seed-services.ts [--mongodb URL] [--snowflake-host H --snowflake-port P]
// MongoDB gets the `restaurants` and `users` collections (isOpen, menuSize, cuisineTags, city, favoriteCuisine, country);
// Snowflake (or fakesnow) gets FOOD_DELIVERY.PUBLIC.RESTAURANT_PREP_STATS, one row per restaurant per
// hour of the last day (avgPrepSeconds7d). Then `featuregraph materialize --config
// examples/food-delivery/featuregraph.services.json` keeps them in Redis.
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import snowflake from 'snowflake-sdk';
import { createDemo, restaurantIds } from './demo.js';

const { values } = parseArgs({
  options: {
    mongodb: { type: 'string', default: process.env.FEATUREGRAPH_MONGODB_URL ?? 'mongodb://127.0.0.1:27117/' },
    'snowflake-host': { type: 'string', default: process.env.FEATUREGRAPH_SNOWFLAKE_HOST ?? '127.0.0.1' },
    'snowflake-port': { type: 'string', default: process.env.FEATUREGRAPH_SNOWFLAKE_PORT ?? '18085' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('seed-services [--mongodb URL] [--snowflake-host HOST] [--snowflake-port PORT]\n');
  process.exit(0);
}

const now = Date.now();
const demo = createDemo({ historyMs: 0 });
await demo.start();
await demo.stop();

// MongoDB: the ordering service's collections, with an updatedAt the materializer polls.
const mongo = new MongoClient(String(values.mongodb));
await mongo.connect();
const db = mongo.db('fooddelivery');
const restaurants = db.collection('restaurants');
const users = db.collection('users');
await restaurants.deleteMany({});
await users.deleteMany({});
const rows = async (name: string) => {
  const out: { key: string; values: Record<string, unknown> }[] = [];
  for await (const batch of demo.bindings.rows({ kind: 'document', name, collection: name, keyField: '', updatedAtField: '' }).read({ since: null, until: now, columns: ['isOpen', 'menuSize', 'cuisineTags', 'city', 'favoriteCuisine', 'country', 'AVG_PREP_SECONDS_7D'] })) out.push(...batch);
  return out;
};
const restaurantRows = await rows('restaurants');
await restaurants.insertMany(restaurantRows.map((r) => ({ restaurantId: r.key, isOpen: r.values.isOpen, menuSize: r.values.menuSize, cuisineTags: r.values.cuisineTags, city: r.values.city, updatedAt: new Date(now - 60_000) })));
const userRows = await rows('users');
await users.insertMany(userRows.map((u) => ({ userId: u.key, favoriteCuisine: u.values.favoriteCuisine, country: u.values.country, updatedAt: new Date(now - 60_000) })));
await mongo.close();
process.stderr.write(`mongodb: ${restaurantRows.length} restaurants, ${userRows.length} users\n`);

// Snowflake: hourly rollups of the last day.
snowflake.configure({ logLevel: 'ERROR' });
// `port` is honoured by the driver but missing from its typings.
const connection = snowflake.createConnection({
  account: process.env.FEATUREGRAPH_SNOWFLAKE_ACCOUNT ?? 'fakesnow',
  username: process.env.FEATUREGRAPH_SNOWFLAKE_USER ?? 'fg',
  password: process.env.FEATUREGRAPH_SNOWFLAKE_PASSWORD ?? 'fg',
  host: String(values['snowflake-host']),
  port: Number(values['snowflake-port']),
  protocol: 'http',
} as snowflake.ConnectionOptions);
await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
const sql = (sqlText: string, binds?: (string | number)[]) =>
  new Promise<void>((resolve, reject) => connection.execute({ sqlText, ...(binds ? { binds } : {}), complete: (error) => (error ? reject(error) : resolve()) }));
await sql('CREATE DATABASE IF NOT EXISTS FOOD_DELIVERY');
await sql('CREATE SCHEMA IF NOT EXISTS FOOD_DELIVERY.PUBLIC');
await sql('CREATE OR REPLACE TABLE FOOD_DELIVERY.PUBLIC.RESTAURANT_PREP_STATS (RESTAURANT_ID VARCHAR, COMPUTED_AT TIMESTAMP_NTZ, AVG_PREP_SECONDS_7D FLOAT)');
const hour = 3_600_000;
const prep: (string | number)[][] = [];
for (let h = 24; h >= 1; h--) {
  const at = Math.floor(now / hour) * hour - (h - 1) * hour;
  restaurantIds.forEach((id, i) => prep.push([id, new Date(at).toISOString().replace('T', ' ').replace('Z', ''), 420 + ((i * 97) % 900) + Math.round(Math.sin(at / hour + i) * 60)]));
}
// Multi-row VALUES with bound parameters: far faster than one statement per row.
for (let i = 0; i < prep.length; i += 200) {
  const chunk = prep.slice(i, i + 200);
  await sql(`INSERT INTO FOOD_DELIVERY.PUBLIC.RESTAURANT_PREP_STATS VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, chunk.flat());
}
await new Promise<void>((resolve) => connection.destroy(() => resolve()));
process.stderr.write(`snowflake: ${prep.length} rows in FOOD_DELIVERY.PUBLIC.RESTAURANT_PREP_STATS\n`);
