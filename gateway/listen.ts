// Listening on a port, with a refusal a person can act on: a port in use or one that needs privileges
// is a coded start error naming the setting, not an EADDRINUSE stack trace. And the small servers of
// side routes (health, metrics) that some commands listen with on ports of their own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../schema/errors.js';
import { sendJson } from './http.js';

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

/** Answers a request and resolves true, or resolves false when the path is not its. */
export type Routes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface ListeningRoutes {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/**
 * A small server of its own port for a process's side routes (materialize's health, metrics): a path
 * none of them answers gets a 404 naming what the port serves; a failure a 500, never a stack.
 */
export async function listenRoutes(routes: Routes, target: ListenTarget, serves: string): Promise<ListeningRoutes> {
  const server = createServer((req, res) => {
    routes(req, res)
      .then((answered) => {
        if (!answered) sendJson(res, 404, { error: `this port answers ${serves} only` });
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.end();
      });
  });
  const port = await listen(server, target);
  const host = target.host === '0.0.0.0' || target.host === '::' ? 'localhost' : target.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
