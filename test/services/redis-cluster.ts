// A 3-master Redis Cluster on 127.0.0.1 (no replicas): three redis-server processes joined with
// `redis-cli --cluster create`. Ports FEATUREGRAPH_REDIS_CLUSTER_PORT .. +2 (default 17001..17003);
// each node's cluster bus listens on its port + 10000.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  killDetached,
  livePid,
  portFor,
  portOpen,
  run,
  ServiceError,
  spawnDetached,
  waitFor,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';
import { installRedisServer, redisCommand, redisHost, redisServerArgs, waitForPing } from './redis.js';

const service = 'redis-cluster';
const masters = 3;
const busOffset = 10_000;

function nodePorts(): number[] {
  const first = portFor('FEATUREGRAPH_REDIS_CLUSTER_PORT', 17001);
  return Array.from({ length: masters }, (_, i) => first + i);
}

const nodeLabel = (port: number) => `node-${port}`;

function endpointFor(ports: number[]): NonNullable<Endpoints['redis-cluster']> {
  return { nodes: ports.map((port) => ({ host: redisHost, port })) };
}

/** `CLUSTER INFO` of one node as a map, or null when the node does not answer as a cluster node. */
async function clusterInfo(port: number): Promise<Map<string, string> | null> {
  try {
    const text = await redisCommand(port, ['CLUSTER', 'INFO']);
    return new Map(text.split('\r\n').filter(Boolean).map((line) => line.split(':', 2) as [string, string]));
  } catch {
    return null;
  }
}

/** Healthy: every node says the cluster is ok, knows all the masters, and all slots are served. */
async function healthy(ports: number[]): Promise<boolean> {
  const infos = await Promise.all(ports.map(clusterInfo));
  return infos.every(
    (info) =>
      info?.get('cluster_state') === 'ok' &&
      info.get('cluster_known_nodes') === String(masters) &&
      info.get('cluster_size') === String(masters) &&
      info.get('cluster_slots_ok') === '16384',
  );
}

/** Fails early and by name when a port we are about to bind is taken by something that is not ours. */
async function requireFreePorts(ports: number[]): Promise<void> {
  const wanted = ports.flatMap((port) => [port, port + busOffset]);
  const taken = (await Promise.all(wanted.map(async (port) => ((await portOpen(port)) ? port : null)))).filter((p) => p !== null);
  if (taken.length > 0) {
    throw new ServiceError(service, `ports ${taken.join(', ')} are already in use (a cluster node needs its port and port + ${busOffset}); move them with FEATUREGRAPH_REDIS_CLUSTER_PORT`);
  }
}

async function stopNodes(ctx: ServiceContext, ports: number[]): Promise<void> {
  await Promise.all(ports.map((port) => killDetached(ctx, nodeLabel(port))));
}

/** Starts one empty node: a leftover nodes.conf would make `--cluster create` refuse it as "not empty". */
async function startNode(ctx: ServiceContext, port: number): Promise<void> {
  const dataDir = join(ctx.dir, String(port));
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const args = [
    ...redisServerArgs(port, dataDir),
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dataDir, 'nodes.conf'),
    // Short timeout: a node that stops answering is noticed within seconds in failure tests.
    '--cluster-node-timeout', '2000',
  ];
  const pid = spawnDetached(ctx, nodeLabel(port), 'redis-server', args);
  await waitForPing(service, ctx, nodeLabel(port), pid, port);
}

const redisCluster: ServiceDefinition<'redis-cluster'> = {
  name: service,

  async install(ctx) {
    installRedisServer(service, ctx);
  },

  async probe(ctx) {
    const ports = nodePorts();
    if (await healthy(ports)) return endpointFor(ports);
    // Nodes of ours that run but do not form a healthy cluster cannot be trusted: start anew.
    if (ports.some((port) => livePid(ctx, nodeLabel(port)) !== null)) {
      ctx.log('nodes run but the cluster is not healthy: restarting it');
      await stopNodes(ctx, ports);
    }
    return null;
  },

  async start(ctx) {
    const ports = nodePorts();
    await stopNodes(ctx, ports);
    await requireFreePorts(ports);
    try {
      await Promise.all(ports.map((port) => startNode(ctx, port)));
      run(service, 'redis-cli', ['--cluster', 'create', ...ports.map((port) => `${redisHost}:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
      await waitFor(service, 'cluster_state:ok on every node', () => healthy(ports), 30_000);
    } catch (error) {
      await stopNodes(ctx, ports);
      throw error;
    }
    return endpointFor(ports);
  },

  async stop(ctx) {
    await stopNodes(ctx, nodePorts());
  },
};

export default redisCluster;
