// Produces the demo's orders to a real Kafka topic, for the seed scenario against real services:
//   node --import tsx examples/food-delivery/produce-orders.ts --brokers 127.0.0.1:19092 [--rate 20] [--history-minutes 30]
// It backfills the last minutes first (so windows have values at once), then produces live orders.
import { parseArgs } from 'node:util';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { createDemo } from './demo.js';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: process.env.FEATUREGRAPH_KAFKA_BROKERS ?? '127.0.0.1:19092' },
    topic: { type: 'string', default: 'orders' },
    rate: { type: 'string', default: '5' },
    'history-minutes': { type: 'string', default: '30' },
    once: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('produce-orders [--brokers host:port,...] [--topic orders] [--rate ORDERS_PER_S] [--history-minutes N] [--once]\n');
  process.exit(0);
}
const rate = Number(values.rate);
const historyMinutes = Number(values['history-minutes']);
if (!(rate > 0) || !(historyMinutes >= 0)) {
  process.stderr.write('--rate must be > 0 and --history-minutes >= 0\n');
  process.exit(2);
}
const kafka = new KafkaStreamSource({ brokers: String(values.brokers).split(','), clientId: 'food-delivery-orders' });
await kafka.ensureTopic(String(values.topic), 3);
// The demo generator writes to an in-process stream; forward what it produces to Kafka.
const demo = createDemo({ ordersPerSecond: rate, historyMs: historyMinutes * 60_000 });
let sent = 0;
const forward = async () => {
  const pending = demo.stream.messages('orders').slice(sent);
  if (pending.length === 0) return;
  sent += pending.length;
  for (let i = 0; i < pending.length; i += 5000) {
    await kafka.produce(String(values.topic), pending.slice(i, i + 5000).map((m) => ({ key: m.key, value: String(m.value) })));
  }
};
await demo.start();
await forward();
process.stderr.write(`sent ${sent} orders of the last ${historyMinutes} minutes to ${values.topic}\n`);
if (values.once) {
  await demo.stop();
  await kafka.close();
  process.exit(0);
}
setInterval(() => void forward().then(() => undefined, (error: unknown) => process.stderr.write(`${String(error)}\n`)), 250);
setInterval(() => process.stderr.write(`sent ${sent} orders\n`), 10_000);
process.on('SIGINT', () => void demo.stop().then(() => kafka.close()).then(() => process.exit(0)));
process.on('SIGTERM', () => void demo.stop().then(() => kafka.close()).then(() => process.exit(0)));
