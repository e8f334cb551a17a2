// The gateway of bench:online --served-log: the gateway `featuregraph serve` runs over the bench's repo
// and config (telemetry from OTEL_*, as serve starts it), logging what it serves at --served-log-rate
// through the served-feature logger (its default buffer and flushes) into the memory store, bounded at
// 10,000 records so that memory stays flat over a long run; without the flag, with no served log at all.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../gateway/config.js';
import { createGateway } from '../../gateway/server.js';
import { startTelemetry } from '../../gateway/telemetry/sdk.js';
import { log } from '../../gateway/commands/command.js';
import { createOnlineStore } from '../../adapters/online/index.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { ServedLogger } from '../../gateway/served-log/logger.js';
import { MemoryServedLogStore } from '../../adapters/served-log/memory.js';

const { values } = parseArgs({ options: { repo: { type: 'string' }, config: { type: 'string' }, port: { type: 'string' }, 'served-log-rate': { type: 'string' } }, strict: true });
const rate = values['served-log-rate'] === undefined ? null : Number(values['served-log-rate']);
if (rate !== null && !(rate >= 0 && rate <= 1)) throw new Error(`--served-log-rate must be a number from 0 to 1, got ${JSON.stringify(values['served-log-rate'])}`);

const config = loadConfig({ file: values.config, overrides: { ...(values.repo ? { repo: values.repo } : {}), ...(values.port ? { port: Number(values.port) } : {}) } });
const registry = await loadFeatureRepo(config.repo);
const telemetry = await startTelemetry({ serviceName: 'featuregraph-gateway' });
const store = await createOnlineStore(config.onlineStore);
const servedLog = rate === null ? null : new ServedLogger({ store: new MemoryServedLogStore({ maxRecords: 10_000 }), sampleRate: rate, bufferRecords: config.servedLog.bufferRecords, flushEveryMs: config.servedLog.flushEveryMs, log });
const gateway = await createGateway({ config, registry, store, log, telemetry, servedLog });
const url = await gateway.listen();
log(`featuregraph serving ${registry.entities.size} entities ${servedLog ? `logging ${(rate as number) * 100}% of requests` : 'without a served log'} at ${url}`);

process.on('SIGTERM', () => {
  void gateway
    .close()
    .then(() => servedLog?.close())
    .then(() => store.close())
    .then(() => telemetry.shutdown())
    .finally(() => process.exit(0));
});
