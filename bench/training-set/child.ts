// A phase child of the training-set bench (measure.ts starts it under /usr/bin/time -v): runs one
// phase, prints its ChildResult as the last stdout line, and exits.
//
//   node --import tsx bench/training-set/child.ts PHASE ARGS...
import type { ChildResult } from './common.js';
import { featuregraphExport, featuregraphLoad } from './featuregraph.js';
import { floorJoin, floorLoad } from './floor.js';

const [phase, ...args] = process.argv.slice(2);
const a = (i: number) => args[i] as string;
let result: ChildResult;
switch (phase) {
  case 'featuregraph-setup':
    result = await featuregraphLoad(a(0), a(1), Number(a(2)), a(3), Number(a(4)));
    break;
  case 'featuregraph-run':
    result = await featuregraphExport(a(0), a(1), a(2), Number(a(3)), a(4));
    break;
  case 'floor-setup':
    result = await floorLoad(a(0), a(1));
    break;
  case 'floor-run':
    result = await floorJoin(a(0), a(1), a(2), Number(a(3)));
    break;
  default:
    throw new Error(`unknown child phase ${phase}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
