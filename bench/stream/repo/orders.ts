// The stream benchmark's feature repo: one entity and one stream view shaped like the seed scenario's
// restaurant_order_activity (a 30-minute count and a 24-hour sum over the orders stream).
//
// The topic comes from FEATUREGRAPH_BENCH_STREAM_TOPIC so that every run reads a fresh topic of its
// own (bench/stream/run.ts sets it before loading the repo, in itself and in its workers).
import { count, entity, featureView, kafkaTopic, sum } from 'featuregraph';

export const benchTopic = process.env.FEATUREGRAPH_BENCH_STREAM_TOPIC || 'bench.stream.orders';

export const restaurant = entity({
  name: 'Restaurant',
  key: 'restaurantId',
  description: 'A restaurant (stream benchmark data).',
});

export const benchOrders = kafkaTopic({
  name: 'bench_orders',
  topic: benchTopic,
  keyField: 'restaurantId',
  eventTimeField: 'createdAt',
  fields: {
    orderId: 'string',
    restaurantId: 'string',
    createdAt: 'timestamp',
    totalPrice: 'number',
    /** When the benchmark's producer sent the event (epoch ms, sub-millisecond); read by the probes only. */
    sentAt: 'number',
  },
});

export const benchOrderActivity = featureView({
  name: 'bench_order_activity',
  entity: restaurant,
  source: benchOrders,
  features: {
    ordersLast30m: count({ window: '30m', description: 'Orders in the last 30 minutes.' }),
    revenueLast24h: sum({ field: 'totalPrice', window: '24h', description: 'Order value in the last 24 hours.' }),
  },
  freshness: '1m',
  ttl: '2d',
  owner: 'bench',
  tags: ['bench'],
  description: 'Order activity of a restaurant, from the benchmark orders stream.',
});
