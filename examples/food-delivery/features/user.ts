import { column, count, featureView } from 'featuregraph';
import { user } from './entities.js';
import { ordersByUser, users } from './sources.js';

export const userOrderActivity = featureView({
  name: 'user_order_activity',
  entity: user,
  source: ordersByUser,
  features: {
    ordersLast24h: count({ window: '24h', description: 'Orders the user placed in the last 24 hours.' }),
  },
  freshness: '1m',
  ttl: '7d',
  owner: 'growth-team',
  tags: ['realtime'],
  description: 'Live order activity of a user, from the orders stream.',
});

export const userProfile = featureView({
  name: 'user_profile',
  entity: user,
  source: users,
  features: {
    favoriteCuisine: column({ type: 'String', description: 'The cuisine the user orders most.', pii: false }),
    country: column({ type: 'String', description: 'The country the user orders from: how user features are monitored, one country at a time.' }),
  },
  freshness: '10m',
  ttl: '90d',
  owner: 'growth-team',
  tags: ['profile'],
  description: 'What the ordering service knows of a user.',
});
