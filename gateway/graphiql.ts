// An offline GraphiQL: the page and its scripts come from npm packages installed with the gateway,
// so it works on machines that reach no CDN.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** Asset name served under /graphiql/ -> file and content type. A Map: the name comes from the URL, and
 * an object would answer "__proto__" or "constructor" with its prototype's members. */
const assets = new Map<string, { path: () => string; type: string }>([
  ['react.js', { path: () => join(packageDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript' }],
  ['react-dom.js', { path: () => join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript' }],
  ['graphiql.js', { path: () => join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript' }],
  ['graphiql.css', { path: () => join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css' }],
]);

const cache = new Map<string, Buffer>();

export function graphiqlAsset(name: string): { body: Buffer; type: string } | null {
  const asset = assets.get(name);
  if (!asset) return null;
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(asset.path());
    cache.set(name, body);
  }
  return { body, type: asset.type };
}

const defaultQuery = `# featuregraph: features of the food-delivery demo.
# Run with the play button; the fields' descriptions (Docs) say owner, source, SLA and ttl.
query Busy {
  restaurants(restaurantIds: ["r1", "r2", "r3"]) {
    restaurantId
    ordersLast30m
    avgPrepSeconds7d
    isOpen
    etaMinutes(distanceKm: 3.5)
    featureMeta { ordersLast30m { status ageMs } }
  }
}
`;

export function graphiqlPage(endpoint: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>featuregraph · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/react.js"></script>
<script src="/graphiql/react-dom.js"></script>
<script src="/graphiql/graphiql.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(endpoint)} });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultQuery: ${JSON.stringify(defaultQuery)} })
  );
</script>
</body>
</html>`;
}
