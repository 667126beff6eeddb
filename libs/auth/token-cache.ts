/**
 * What a token validator has concluded, kept for a bounded time: a
 * principal, or the refusal. One validation runs per token at a time
 * (concurrent calls with the same token wait for it); the oldest entries
 * go first once `maxEntries` is reached. Keys are digests, so the cache
 * holds no usable token.
 */
import { createHash } from "node:crypto";

interface Entry<T> {
  outcome: { ok: true; value: T } | { ok: false; error: Error };
  /** Epoch ms after which the entry is not believed. */
  until: number;
}

export class TokenCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cached outcome for `token`, else `validate`'s, cached until the
   * time it gives (epoch ms; not cached when not in the future). Errors
   * marked `cacheable` by the validator are cached as refusals; others
   * (the validator could not tell) are not.
   */
  async get(
    token: string,
    validate: () => Promise<{ value: T; until: number }>,
    refusal: (err: unknown) => { cacheUntil: number } | undefined,
  ): Promise<T> {
    const key = createHash("sha256").update(token).digest("base64url");
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.until > this.now()) {
        if (hit.outcome.ok) return hit.outcome.value;
        throw hit.outcome.error;
      }
      this.entries.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const run = (async () => {
      try {
        const { value, until } = await validate();
        this.put(key, { outcome: { ok: true, value }, until });
        return value;
      } catch (err) {
        const cache = refusal(err);
        if (cache !== undefined) this.put(key, { outcome: { ok: false, error: err as Error }, until: cache.cacheUntil });
        throw err;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, run);
    return run;
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, entry: Entry<T>): void {
    if (entry.until <= this.now()) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }
}
