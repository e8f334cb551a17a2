#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so the CLI needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../gateway/cli.ts');
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
