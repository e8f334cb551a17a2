// Training/serving skew: a logged online answer recomputed as a SERVED training set would compute it,
// and compared. Stored features are read asOf the logged instant in SERVED mode (HistoryStore.readAsOf,
// exported by the value rule as training sets write them); request-time features are computed from
// those reads with the logged arguments by requestFeatureValue, the function the gateway and the
// training sets call. By "Online equals SERVED" (README), consistent data gives no skew at all, so any
// disagreement is one: a request-time feature computed differently online than in training, a history
// store missing writes the online store made, a value served that history never recorded.
import { OptionCheck } from '../../adapters/common/options.js';
import { viewsWithoutHistory } from '../../adapters/history/presence.js';
import type { HistoryStore, PointInTimeRow } from '../../adapters/history/types.js';
import { allSegments, segmentLabel, type SkewExample } from '../../schema/health.js';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedRequestFeature } from '../../schema/registry.js';
import { requestFeatureStatus, requestFeatureValue } from '../../schema/request-features.js';
import type { ServedRecord, ServedValue } from '../../schema/served-log.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import type { FeatureValue, RequestArguments } from '../../schema/types.js';
import { exportedValue } from '../../schema/value-rules.js';
import type { SkewChecker, SkewResult, SkewTally } from './types.js';

export interface SkewCheckerOptions {
  /** The monitor's registry: the repo training sets are computed with. */
  registry: FeatureRegistry;
  history: HistoryStore;
  /**
   * Records logged less than this before `now` are not checked yet: the history store's writes trail
   * the online store's, and a change served but not yet recorded would read as skew. Default 30 s.
   */
  settleMs?: number;
  /** At most this many records per check; more are sampled evenly over the given order. Default 1000. */
  maxRecords?: number;
}

/** Examples kept per feature and segment. */
const examplesPerTally = 5;
/** Rows per readAsOf. */
const rowsPerRead = 1000;
/** Relative tolerance of number comparisons: a sum computed in another order differs in its last bits. */
const tolerance = 1e-9;

/** What the recomputation gives where it cannot compute: a request-time feature that threw. */
const failedStatus = 'FAILED';

interface Recomputed {
  value: FeatureValue;
  status: string;
}

/** One checked feature of an entity: a stored one read by index, or a request-time one computed from its inputs' reads. */
type Checked = { name: string; stored: ResolvedFeature; request?: undefined } | { name: string; request: ResolvedRequestFeature; stored?: undefined };

function sameValue(a: FeatureValue, b: FeatureValue): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i] ?? null));
  return a === b;
}

/**
 * Whether a logged value is what the recomputation gives: the same status and value. A recomputation
 * that failed agrees only with a null: the online field failed too and answered null (a logged status
 * cannot say "failed").
 */
function agrees(served: ServedValue, recomputed: Recomputed): boolean {
  if (recomputed.status === failedStatus) return served.value === null;
  return served.status === recomputed.status && sameValue(served.value, recomputed.value);
}

/** `count` of `records`, spread evenly over them (all when there are no more). */
function sampleEvenly<T>(records: readonly T[], count: number): readonly T[] {
  if (records.length <= count) return records;
  return Array.from({ length: count }, (_, i) => records[Math.floor((i * records.length) / count)] as T);
}

/** A record's labels: the whole population, then one per segment feature of its entity (by its logged value). */
function labelsOf(entity: ResolvedEntity, record: ServedRecord): string[] {
  return [allSegments, ...entity.segments.map((feature) => segmentLabel(feature.name, record.segments[feature.name] ?? null))];
}

/** The logged arguments of a request-time feature; a log from elsewhere (Kafka) may hold anything. */
function loggedArguments(record: ServedRecord, name: string): RequestArguments {
  const args = record.inputs[name] as unknown;
  return typeof args === 'object' && args !== null && !Array.isArray(args) ? (args as RequestArguments) : {};
}

class Tallies {
  readonly result: SkewResult = new Map();

  add(feature: string, labels: readonly string[], skewed: SkewExample | null): void {
    let bySegment = this.result.get(feature);
    if (!bySegment) this.result.set(feature, (bySegment = new Map()));
    for (const label of labels) {
      let tally: SkewTally | undefined = bySegment.get(label);
      if (!tally) bySegment.set(label, (tally = { checked: 0, skewed: 0, examples: [] }));
      tally.checked++;
      if (skewed === null) continue;
      tally.skewed++;
      if (tally.examples.length < examplesPerTally) tally.examples.push(skewed);
    }
  }
}

/** The features of `names` the monitor's repo knows and monitors, of views the history store holds. */
function checkedFeatures(entity: ResolvedEntity, names: Iterable<string>, withoutHistory: ReadonlySet<string>): Checked[] {
  const out: Checked[] = [];
  for (const name of names) {
    const stored = entity.features.get(name);
    const request = entity.requestFeatures.get(name);
    // A feature the repo does not know (the gateway ran another version) is no skew: nothing to compare with.
    // A view the store holds nothing of cannot be recomputed; a training set refuses it (requireHistory).
    if (stored && !stored.monitor.off && !withoutHistory.has(stored.view.name)) out.push({ name, stored });
    else if (request && !request.monitor.off && !request.inputs.some((input) => withoutHistory.has(input.view.name))) out.push({ name, request });
  }
  return out;
}

/** Recomputes one record's checked features from its SERVED reads (`reads[column.get(feature)]`). */
function recompute(checked: Checked, record: ServedRecord, reads: readonly FeatureRead[], column: ReadonlyMap<ResolvedFeature, number>): Recomputed {
  if (checked.stored) {
    const read = reads[column.get(checked.stored) as number] as FeatureRead;
    return { value: exportedValue(checked.stored.type, read.value), status: read.status };
  }
  const inputs = checked.request.inputs.map((input) => reads[column.get(input) as number]);
  try {
    return { value: requestFeatureValue(checked.request, loggedArguments(record, checked.name), inputs), status: requestFeatureStatus(inputs) };
  } catch {
    return { value: null, status: failedStatus };
  }
}

/** Checks the records of one entity: one readAsOf per `rowsPerRead` of them, of every stored feature they need. */
async function checkEntity(history: HistoryStore, entity: ResolvedEntity, records: readonly ServedRecord[], tallies: Tallies): Promise<void> {
  const logged = new Set(records.flatMap((record) => Object.keys(record.features)));
  const views = [...logged].flatMap((name) => {
    const stored = entity.features.get(name);
    return stored ? [stored.view.name] : (entity.requestFeatures.get(name)?.inputs.map((input) => input.view.name) ?? []);
  });
  const withoutHistory = new Set(await viewsWithoutHistory(history, views));
  const checked = checkedFeatures(entity, logged, withoutHistory);
  const reads = [...new Set(checked.flatMap((c) => (c.stored ? [c.stored] : c.request.inputs)))];
  const column = new Map(reads.map((feature, i) => [feature, i] as const));
  const byName = new Map(checked.map((c) => [c.name, c]));
  for (let from = 0; from < records.length; from += rowsPerRead) {
    const chunk = records.slice(from, from + rowsPerRead);
    const rows: PointInTimeRow[] = chunk.map((record) => ({ key: record.key, asOf: record.at }));
    const answers = reads.length > 0 ? await history.readAsOf({ features: reads, mode: 'SERVED' }, rows) : rows.map(() => []);
    chunk.forEach((record, i) => {
      const labels = labelsOf(entity, record);
      for (const [name, served] of Object.entries(record.features)) {
        const feature = byName.get(name);
        if (!feature) continue;
        const recomputed = recompute(feature, record, answers[i] ?? [], column);
        const example: SkewExample | null = agrees(served, recomputed)
          ? null
          : { key: record.key, at: record.at, served: served.value, servedStatus: served.status, recomputed: recomputed.value, recomputedStatus: recomputed.status, inputs: feature.request ? loggedArguments(record, name) : null };
        tallies.add(`${entity.name}.${name}`, labels, example);
      }
    });
  }
}

/**
 * A skew checker over the monitor's registry and history store. Records of an entity the registry does
 * not define, and features it does not define or whose monitor is off, are not checked.
 */
export function createSkewChecker(options: SkewCheckerOptions): SkewChecker {
  const check = new OptionCheck();
  const settleMs = check.integerIn('skew checker: settleMs (ms)', options.settleMs, 0, Number.MAX_SAFE_INTEGER, 30_000);
  const maxRecords = check.integerIn('skew checker: maxRecords', options.maxRecords, 1, Number.MAX_SAFE_INTEGER, 1000);
  check.done();
  const { registry, history } = options;
  return {
    async check(records, now) {
      const settled = sampleEvenly(
        records.filter((record) => record.at <= now - settleMs),
        maxRecords,
      );
      const byEntity = new Map<ResolvedEntity, ServedRecord[]>();
      for (const record of settled) {
        const entity = registry.entities.get(record.entity);
        if (!entity) continue;
        const list = byEntity.get(entity);
        if (list) list.push(record);
        else byEntity.set(entity, [record]);
      }
      const tallies = new Tallies();
      for (const [entity, list] of byEntity) await checkEntity(history, entity, list, tallies);
      return tallies.result;
    },
  };
}
