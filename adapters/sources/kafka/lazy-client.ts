// A kafkajs client (an admin, a producer) connected on first use and shared: concurrent first calls
// (three partitions handled at once) must share one connect, or they race a half-connected client.
export interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export class LazyClient<C extends Connectable> {
  private connecting: Promise<C> | null = null;

  constructor(private readonly make: () => C) {}

  /** The connected client; a failed connect is not kept: the next call tries again. */
  get(): Promise<C> {
    this.connecting ??= (async () => {
      const client = this.make();
      await client.connect();
      return client;
    })();
    return this.connecting.catch((error: unknown) => {
      this.connecting = null;
      throw error;
    });
  }

  /** Disconnects the client if there is one (errors ignored); a later get() connects a new one. */
  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = null;
    await connecting?.then((client) => client.disconnect()).catch(() => undefined);
  }
}
