import { column, count, featureView, requestFeature, sum } from 'featuregraph';
import { restaurant } from './entities.js';
import { ordersByRestaurant, restaurantPrepStats, restaurants } from './sources.js';

export const restaurantOrderActivity = featureView({
  name: 'restaurant_order_activity',
  entity: restaurant,
  source: ordersByRestaurant,
  features: {
    ordersLast30m: count({ window: '30m', description: 'Orders placed in the last 30 minutes: how busy the kitchen is right now.', monitor: { range: [0, 10_000] } }),
    revenueLast24h: sum({ field: 'totalPrice', window: '24h', description: 'Order value in the last 24 hours.' }),
  },
  freshness: '1m',
  ttl: '2d',
  owner: 'eta-team',
  tags: ['realtime', 'eta'],
  description: 'Live order activity of a restaurant, from the orders stream.',
});

export const restaurantPrep = featureView({
  name: 'restaurant_prep',
  entity: restaurant,
  source: restaurantPrepStats,
  features: {
    avgPrepSeconds7d: column({ type: 'Float', column: 'AVG_PREP_SECONDS_7D', description: 'Mean seconds from order to pickup over the last 7 days.' }),
  },
  freshness: '2h',
  ttl: '7d',
  owner: 'eta-team',
  tags: ['batch', 'eta'],
  description: 'Kitchen speed of a restaurant, rolled up hourly in the warehouse.',
});

export const restaurantProfile = featureView({
  name: 'restaurant_profile',
  entity: restaurant,
  source: restaurants,
  features: {
    isOpen: column({ type: 'Boolean', description: 'Whether the restaurant takes orders now.' }),
    menuSize: column({ type: 'Int', description: 'Dishes on the menu.' }),
    cuisineTags: column({ type: '[String]', description: 'Cuisines the restaurant serves, e.g. ["thai", "noodles"].' }),
    city: column({ type: 'String', description: 'The city the restaurant cooks in: how its features are monitored, one city at a time.' }),
  },
  freshness: '5m',
  ttl: '30d',
  owner: 'catalog-team',
  tags: ['profile'],
  description: 'What the ordering service knows of a restaurant.',
});

const words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/** Share of the search's words that match one of the restaurant's cuisine tags (prefixes count). */
export const queryMatch = requestFeature({
  name: 'queryMatch',
  entity: restaurant,
  type: 'Float',
  arguments: { query: 'String!' },
  inputs: ['cuisineTags'],
  compute: ({ query }, { cuisineTags }) => {
    const asked = words(String(query ?? ''));
    const tags = Array.isArray(cuisineTags) ? cuisineTags.flatMap((t) => words(String(t))) : [];
    if (asked.length === 0 || tags.length === 0) return 0;
    const matched = asked.filter((w) => tags.some((t) => t.startsWith(w) || w.startsWith(t))).length;
    return matched / asked.length;
  },
  owner: 'search-team',
  tags: ['request-time', 'search'],
  description: "How well the user's search text matches the restaurant's cuisines, from 0 to 1.",
});

/** Expected minutes to the door: kitchen time scaled by how busy it is, plus the ride. */
export const etaMinutes = requestFeature({
  name: 'etaMinutes',
  entity: restaurant,
  type: 'Float',
  arguments: { distanceKm: 'Float!' },
  inputs: ['avgPrepSeconds7d', 'ordersLast30m'],
  compute: ({ distanceKm }, { avgPrepSeconds7d, ordersLast30m }) => {
    const km = Number(distanceKm);
    if (!Number.isFinite(km) || km < 0 || km > 100) throw new RangeError(`distanceKm must be between 0 and 100, got ${distanceKm}`);
    const prepMinutes = (typeof avgPrepSeconds7d === 'number' ? avgPrepSeconds7d : 900) / 60;
    const busy = typeof ordersLast30m === 'number' ? ordersLast30m : 0;
    const rideMinutes = (km / 25) * 60;
    return Math.round((prepMinutes * (1 + busy / 60) + rideMinutes + 3) * 10) / 10;
  },
  owner: 'eta-team',
  tags: ['request-time', 'eta'],
  description: 'Expected delivery time in minutes for a given distance, from kitchen speed, current load and the ride.',
});
