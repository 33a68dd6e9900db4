/**
 * Fair turns on a shared line: queued items are served one owner at a time, round-robin,
 * so a device with many requests (or a slow one) cannot starve the others.
 */
export class TurnQueue<K, T> {
  /** Map order is turn order: a served owner moves to the back. */
  private readonly queues = new Map<K, T[]>();

  push(owner: K, item: T): void {
    const q = this.queues.get(owner);
    if (q) q.push(item);
    else this.queues.set(owner, [item]);
  }

  /** The next item in turn; with `only`, the next of that owner (the others wait). */
  next(only?: K): T | undefined {
    if (only !== undefined) return this.queues.get(only)?.shift();
    for (const [owner, q] of this.queues) {
      const item = q.shift();
      this.queues.delete(owner);
      if (item === undefined) continue;
      if (q.length > 0) this.queues.set(owner, q);
      return item;
    }
    return undefined;
  }

  /** Takes an owner's queued items out (when it leaves the line). */
  remove(owner: K): T[] {
    const q = this.queues.get(owner) ?? [];
    this.queues.delete(owner);
    return q;
  }
}
