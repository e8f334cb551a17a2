import { entity } from 'featuregraph';

export const restaurant = entity({
  name: 'Restaurant',
  key: 'restaurantId',
  description: 'A restaurant that takes orders through the app.',
  segments: ['city'],
});

export const user = entity({
  name: 'User',
  key: 'userId',
  description: 'A person who orders food through the app.',
  segments: ['country'],
});
