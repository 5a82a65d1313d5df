// Concurrency limits by key (a task name or a tag): at most `limit` holders at once, the rest
// wait in arrival order.
export class ConcurrencyLimiter {
  private readonly slots = new Map<
    string,
    { limit: number; held: number; waiting: (() => void)[] }
  >();

  setLimit(key: string, limit: number): void {
    const slot = this.slots.get(key);
    if (slot) slot.limit = limit;
    else this.slots.set(key, { limit, held: 0, waiting: [] });
  }

  /** Takes a slot under every limited key among `keys`; returns the release function. */
  async acquire(keys: readonly string[]): Promise<() => void> {
    const taken: string[] = [];
    for (const key of [...new Set(keys)].sort()) {
      const slot = this.slots.get(key);
      if (!slot) continue;
      if (slot.held >= slot.limit) await new Promise<void>((resolve) => slot.waiting.push(resolve));
      else slot.held++;
      taken.push(key);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of taken) {
        const slot = this.slots.get(key);
        if (!slot) continue;
        const next = slot.waiting.shift();
        if (next) next();
        else slot.held--;
      }
    };
  }
}
