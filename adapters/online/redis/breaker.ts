// A circuit breaker per Redis node: after a run of failures the node is not asked for a while, so a
// dead or hung node costs a fast error instead of a command timeout on every request. A run counts
// only once it has lasted `minFailingMs`: the reads in flight during one short stall all fail at the
// same instant, and opening the circuit then would refuse reads for `openMs` after the node is back.

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses before one trial request is let through. */
  openMs: number;
  /** How long the node must have been failing (first to latest failure, no success between) to open (default 0). */
  minFailingMs?: number;
  now?: () => number;
}

type State = { kind: 'closed'; failures: number; since: number } | { kind: 'open'; until: number } | { kind: 'half-open' };

export class CircuitBreaker {
  private state: State = { kind: 'closed', failures: 0, since: 0 };
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether a request may go to the node now. */
  allow(): boolean {
    switch (this.state.kind) {
      case 'closed':
        return true;
      case 'open':
        if (this.now() < this.state.until) return false;
        this.state = { kind: 'half-open' };
        return true;
      case 'half-open':
        // One trial at a time: the others fail fast until it answers.
        return false;
      default: {
        const unreachable: never = this.state;
        throw new Error(`unknown breaker state ${JSON.stringify(unreachable)}`);
      }
    }
  }

  success(): void {
    this.state = { kind: 'closed', failures: 0, since: 0 };
  }

  failure(): void {
    const now = this.now();
    if (this.state.kind !== 'closed') {
      // The trial failed (or a request let through before the circuit opened): open again.
      this.state = { kind: 'open', until: now + this.options.openMs };
      return;
    }
    const failures = this.state.failures + 1;
    const since = failures === 1 ? now : this.state.since;
    const failing = failures >= this.options.failureThreshold && now - since >= (this.options.minFailingMs ?? 0);
    this.state = failing ? { kind: 'open', until: now + this.options.openMs } : { kind: 'closed', failures, since };
  }

  get isOpen(): boolean {
    return this.state.kind !== 'closed';
  }
}
