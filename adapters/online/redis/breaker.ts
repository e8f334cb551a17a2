// A circuit breaker per Redis node: after a run of failures the node is not asked for a while, so a
// dead or hung node costs a fast error instead of a command timeout on every request.

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses before one trial request is let through. */
  openMs: number;
  now?: () => number;
}

type State = { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half-open' };

export class CircuitBreaker {
  private state: State = { kind: 'closed', failures: 0 };
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
    this.state = { kind: 'closed', failures: 0 };
  }

  failure(): void {
    const failures = this.state.kind === 'closed' ? this.state.failures + 1 : this.options.failureThreshold;
    this.state = failures >= this.options.failureThreshold ? { kind: 'open', until: this.now() + this.options.openMs } : { kind: 'closed', failures };
  }

  get isOpen(): boolean {
    return this.state.kind !== 'closed';
  }
}
