// A single Kafka 4.x node in KRaft mode (broker and controller in one JVM), assembled from Maven
// Central jars: no release tarball can be fetched here. test/services/kafka/pom.xml names the jars,
// `mvn dependency:copy-dependencies` copies them into the cache, kafka.Kafka runs from there.
// Broker port FEATUREGRAPH_KAFKA_PORT (default 19092), controller FEATUREGRAPH_KAFKA_CONTROLLER_PORT (19093).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  aptInstall,
  cacheRoot,
  commandExists,
  killDetached,
  logTail,
  portFor,
  portOpen,
  repoRoot,
  run,
  ServiceError,
  spawnDetached,
  waitFor,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';

const service = 'kafka';
const host = '127.0.0.1';
const label = 'kafka';
const sourceDir = join(repoRoot, 'test', 'services', 'kafka');
const pomFile = join(sourceDir, 'pom.xml');

const libDir = (ctx: ServiceContext) => join(ctx.dir, 'lib');
const completeMarker = (ctx: ServiceContext) => join(libDir(ctx), '.complete');

function ports(): { broker: number; controller: number } {
  return { broker: portFor('FEATUREGRAPH_KAFKA_PORT', 19092), controller: portFor('FEATUREGRAPH_KAFKA_CONTROLLER_PORT', 19093) };
}

function endpointFor(brokerPort: number): NonNullable<Endpoints['kafka']> {
  return { brokers: [`${host}:${brokerPort}`] };
}

/** The pom's hash marks a complete lib folder: a changed pom (another Kafka version) copies anew. */
function pomHash(): string {
  return createHash('sha256').update(readFileSync(pomFile)).digest('hex');
}

function installJars(ctx: ServiceContext): void {
  const marker = completeMarker(ctx);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === pomHash()) return;
  ctx.log('copying the Kafka jars from Maven Central (cached in .cache/downloads/m2)');
  // A half-copied or other-version folder would mix jars on the classpath.
  rmSync(libDir(ctx), { recursive: true, force: true });
  run(service, 'mvn', [
    '-q', '-B',
    '-f', pomFile,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${libDir(ctx)}`,
    `-Dmaven.repo.local=${join(cacheRoot, 'downloads', 'm2')}`,
  ]);
  writeFileSync(marker, pomHash());
}

/** One combined broker+controller node; internal topics sized for a single node and fast group joins. */
function serverProperties(dataDir: string, p: { broker: number; controller: number }): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${p.controller}`,
    listeners: `PLAINTEXT://${host}:${p.broker},CONTROLLER://${host}:${p.controller}`,
    // Clients must only ever be sent to the broker listener: the controller rejects their API versions.
    'advertised.listeners': `PLAINTEXT://${host}:${p.broker}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 3,
    // Tests create their topics with the partition counts they rely on, as production clusters
    // require: a misspelt topic then fails loudly instead of appearing empty.
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Fewer internal partitions: the first consumer group creates __consumer_offsets in a blink.
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.num.partitions': 3,
    'group.initial.rebalance.delay.ms': 0,
  };
  return `${Object.entries(props).map(([key, value]) => `${key}=${value}`).join('\n')}\n`;
}

/** Kafka's Uuid text form (base64url of 16 random bytes, never starting with '-'), without a JVM start. */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function java(ctx: ServiceContext, mainClass: string, args: string[], heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(sourceDir, 'log4j2.xml')}`,
    '-cp', `${libDir(ctx)}/*`,
    mainClass,
    ...args,
  ];
}

/** Fresh storage on every start, like Redis with persistence off: no topic outlives a restart. */
function formatStorage(ctx: ServiceContext, propsFile: string, dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  run(service, 'java', java(ctx, 'kafka.tools.StorageTool', ['format', '-t', randomClusterId(), '-c', propsFile, '--ignore-formatted'], '256m'));
}

type Admin = ReturnType<Kafka['admin']>;

/** Runs `check` with a kafkajs admin that gives up at once: waitFor does the retrying. */
async function withAdmin(brokerPort: number, check: (admin: Admin) => Promise<unknown>): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'featuregraph-services',
    brokers: [`${host}:${brokerPort}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await check(admin);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Lists topics with kafkajs: the protocol check the tests' own client depends on. */
const answers = (brokerPort: number) => withAdmin(brokerPort, (admin) => admin.listTopics());

/**
 * The group coordinator answers once __consumer_offsets exists, which the first FindCoordinator
 * creates. Done here so that the first consumer group of a test run joins without retries.
 * listTopics first: a fresh kafkajs admin knows no broker to ask until metadata has been fetched.
 */
const groupsReady = (brokerPort: number) =>
  withAdmin(brokerPort, async (admin) => {
    await admin.listTopics();
    await admin.describeGroups(['featuregraph-services-warmup']);
  });

async function requireFreePorts(p: { broker: number; controller: number }): Promise<void> {
  for (const [role, port] of Object.entries(p)) {
    if (await portOpen(port)) {
      throw new ServiceError(service, `${role} port ${port} is already in use by something that is not our broker; move it with FEATUREGRAPH_KAFKA_${role === 'broker' ? '' : 'CONTROLLER_'}PORT`);
    }
  }
}

const kafka: ServiceDefinition<'kafka'> = {
  name: service,

  async install(ctx) {
    // The polyglot machines ship both; a leaner machine gets them from Debian's packages.
    if (!commandExists('java')) aptInstall(service, ['openjdk-17-jre-headless']);
    if (!commandExists('mvn')) aptInstall(service, ['maven']);
    installJars(ctx);
  },

  async probe() {
    const { broker } = ports();
    return (await answers(broker)) ? endpointFor(broker) : null;
  },

  async start(ctx) {
    const p = ports();
    await killDetached(ctx, label, 15_000);
    await requireFreePorts(p);
    const dataDir = join(ctx.dir, 'data');
    const propsFile = join(ctx.dir, 'server.properties');
    mkdirSync(ctx.dir, { recursive: true });
    writeFileSync(propsFile, serverProperties(dataDir, p));
    formatStorage(ctx, propsFile, dataDir);
    // A modest heap: two cores and many services share this machine.
    const pid = spawnDetached(ctx, label, 'java', java(ctx, 'kafka.Kafka', [propsFile], '512m'));
    await waitForSpawned(service, ctx, label, pid, { server: 'the broker', what: `kafkajs to list topics on ${host}:${p.broker}`, ready: () => answers(p.broker), timeoutMs: 60_000, logLines: 30 });
    await waitFor(service, 'the group coordinator', () => groupsReady(p.broker), 30_000, () => logTail(ctx, label, 30));
    return endpointFor(p.broker);
  },

  async stop(ctx) {
    // Storage is formatted anew on every start, so a clean shutdown buys nothing: keep the grace short.
    await killDetached(ctx, label, 5_000);
  },
};

export default kafka;
