/** Sleeps the rules layer can cut short on close(), so no timer outlives the warehouse. */
interface Pending {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

export class Timers {
  private readonly pending = new Set<Pending>();
  private cleared = false;

  sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.cleared) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry: Pending = {
        resolve,
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
      };
      this.pending.add(entry);
    });
  }

  /** Ends every sleep now and any later one at once: the statements behind them already ran, only their latency is cut. */
  clear(): void {
    this.cleared = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.pending.clear();
  }
}
