// Bounds of the Redis store's numeric options, apart from the store so that the gateway's config
// schema can use them without loading the Redis client.
/**
 * The bounds and defaults of the numeric options, in ms or counts: the store checks them, and the
 * gateway's config schema is built from the same table, so a config either passes both or neither.
 */
export const redisOptionBounds = {
  commandTimeoutMs: { min: 1, max: 600_000, fallback: 75 },
  writeTimeoutMs: { min: 1, max: 600_000, fallback: 10_000 },
  connectTimeoutMs: { min: 1, max: 600_000, fallback: 1000 },
  breakerFailures: { min: 1, max: 10_000, fallback: 5 },
  breakerOpenMs: { min: 1, max: 600_000, fallback: 500 },
  maxKeysPerTileCall: { min: 1, max: 100_000, fallback: 100 },
} as const satisfies Record<string, { min: number; max: number; fallback: number }>;
