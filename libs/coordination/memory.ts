/**
 * Coordination for a single collector process (the embedded default): every
 * scope belongs to this process. Tokens are microseconds since the epoch,
 * strictly increasing, so they stay newer than any token a previous run of
 * the process sent to storage.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Coordinator, MemberInfo, Ownership } from "./coordinator.js";

export class MemoryCoordinator implements Coordinator {
  readonly kind = "memory";
  readonly memberId = randomUUID();
  private readonly joinedAt = new Date();
  private readonly owned = new Map<string, { ownership: Ownership; controller: AbortController }>();
  private lastToken = 0n;

  async start(): Promise<void> {}

  leaseHeld(): boolean {
    return true;
  }

  members(): MemberInfo[] {
    return [{ memberId: this.memberId, description: `${hostname()} pid ${process.pid}`, joinedAt: this.joinedAt }];
  }

  shouldOwn(): boolean {
    return true;
  }

  async stepBack(): Promise<void> {}

  onChange(): void {}

  held(): Ownership[] {
    return [...this.owned.values()].map((o) => o.ownership);
  }

  async acquire(scopeId: string): Promise<Ownership | undefined> {
    if (this.owned.has(scopeId)) return undefined;
    const now = BigInt(Date.now()) * 1000n;
    this.lastToken = now > this.lastToken ? now : this.lastToken + 1n;
    const controller = new AbortController();
    const ownership: Ownership = { scopeId, token: this.lastToken, signal: controller.signal };
    this.owned.set(scopeId, { ownership, controller });
    return ownership;
  }

  async release(ownership: Ownership): Promise<void> {
    const held = this.owned.get(ownership.scopeId);
    if (held?.ownership !== ownership) return;
    this.owned.delete(ownership.scopeId);
    held.controller.abort(new Error(`ownership of ${ownership.scopeId} released`));
  }

  async stop(): Promise<void> {
    for (const { ownership } of [...this.owned.values()]) await this.release(ownership);
  }
}
