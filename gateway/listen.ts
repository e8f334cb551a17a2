// Listening on a port, with a refusal a person can act on: a port in use or one that needs privileges
// is a coded start error naming the setting, not an EADDRINUSE stack trace.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../schema/errors.js';

export interface ListenTarget {
  port: number;
  host: string;
  /** Where the port is set, e.g. "--port, env PORT or the config's port". */
  setting: string;
}

/** The error to report when `listen` failed. */
export function listenError(error: unknown, target: ListenTarget): ConfigError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = `${target.host}:${target.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(`port ${target.port} (${target.setting}) is already in use on ${target.host}: another process listens there; stop it or choose another port`);
    case 'EACCES':
      return new ConfigError(`port ${target.port} (${target.setting}) needs privileges this process lacks on ${target.host}: choose a port above 1023`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`cannot listen on ${where}: no network interface has address ${target.host} (the config's host)`);
    default:
      return new ConfigError(`cannot listen on ${where} (${target.setting}): ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Listens; resolves with the port bound (useful with port 0), rejects with listenError's message. */
export function listen(server: Server, target: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown) => reject(listenError(error, target));
    server.once('error', onError);
    server.listen(target.port, target.host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
