import { kafkaTopic, mongoCollection, snowflakeTable } from 'featuregraph';

const orderFields = {
  orderId: 'string',
  restaurantId: 'string',
  userId: 'string',
  createdAt: 'timestamp',
  totalPrice: 'number',
  cuisine: 'string',
} as const;

/** Every order placed in the app, as it happens. */
export const ordersByRestaurant = kafkaTopic({ name: 'orders', topic: 'orders', keyField: 'restaurantId', eventTimeField: 'createdAt', fields: orderFields });
export const ordersByUser = kafkaTopic({ name: 'orders', topic: 'orders', keyField: 'userId', eventTimeField: 'createdAt', fields: orderFields });

/** Hourly rollups of delivered orders in the warehouse. */
export const restaurantPrepStats = snowflakeTable({
  name: 'restaurant_prep_stats',
  table: 'RESTAURANT_PREP_STATS',
  keyColumn: 'RESTAURANT_ID',
  eventTimeColumn: 'COMPUTED_AT',
});

/** The restaurants collection of the ordering service. */
export const restaurants = mongoCollection({ name: 'restaurants', collection: 'restaurants', keyField: 'restaurantId', updatedAtField: 'updatedAt' });

/** The users collection of the ordering service. */
export const users = mongoCollection({ name: 'users', collection: 'users', keyField: 'userId', updatedAtField: 'updatedAt' });
