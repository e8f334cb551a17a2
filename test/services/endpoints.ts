// How integration tests find the servers that test/services/up started. A missing service is an
// error, never a skip: `npm test` starts every service before the integration suites run.
import { readEndpoints, type Endpoints, type ServiceName } from './harness.js';

export function requireEndpoint<N extends ServiceName>(name: N): NonNullable<Endpoints[N]> {
  const endpoint = readEndpoints()[name];
  if (endpoint === undefined || endpoint === null) {
    throw new Error(`service "${name}" is not running: start it with \`test/services/up ${name}\` (npm test does this)`);
  }
  return endpoint as NonNullable<Endpoints[N]>;
}
