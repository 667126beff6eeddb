/**
 * Coordination for a single collector process (the embedded default): every
 * scope belongs to this process. Its epoch is the time it started (in
 * milliseconds since 1970): each run of the process is a coordinator of
 * its own, newer than any run or etcd group before it (clocks permitting),
 * and within it tokens count up from 1.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Coordinator, MemberInfo, Ownership } from "./coordinator.js";

export class MemoryCoordinator implements Coordinator {
  readonly kind = "memory";
  readonly memberId = randomUUID();
  private readonly joinedAt = new Date();
  readonly epoch = BigInt(this.joinedAt.getTime());
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
    this.lastToken += 1n;
    const controller = new AbortController();
    const ownership: Ownership = { scopeId, epoch: this.epoch, token: this.lastToken, signal: controller.signal };
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
