/**
 * Coordination of collector processes through etcd.
 *
 * Each process holds one lease, kept alive in the background by the etcd3
 * client whatever the work is doing, and registers as a member under it. A
 * scope is owned by creating its ownership key under the lease only if the
 * key is absent (a transaction); the revision that created the key is the
 * fencing token every commit of the scope carries, with the group's epoch
 * (epoch.ts), read when the process joins. Members agree on who should own
 * what by rendezvous hashing over the live members.
 *
 * Invariants, and what happens on each failure:
 *  - The process believes it holds its lease only until the last keepalive
 *    etcd acknowledged, plus the TTL etcd granted, counted from when that
 *    keepalive was sent. etcd cannot expire the lease earlier, so the
 *    process always stops before (or when) another member could take over.
 *  - Lease lost (etcd unreachable past that deadline, a keepalive refused,
 *    the process frozen): every ownership signal is aborted at once, so work
 *    stops and nothing more is committed; then the process rejoins with a
 *    new lease and revokes the old one as soon as etcd answers, so keys that
 *    survived an etcd restart do not block the others.
 *  - A commit that slips out in the instant of a loss is refused by storage:
 *    the new owner's key was created later, so its token is higher.
 *  - The processing loop stops making progress (`healthy` says so): the
 *    lease is revoked, which deletes every key of this process at once, and
 *    the process rejoins only once it is healthy again.
 *  - Release and stop never throw: failing to delete a key only delays the
 *    takeover until the lease expires.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, type IBackoff, retry } from "cockatiel";
import { Etcd3, isRecoverableError, type Lease, type Watcher } from "etcd3";
import { sleep } from "../async/limit.js";
import { errorMessage } from "../errors/errors.js";
import type { Logger } from "../logging/logger.js";
import type { Coordinator, MemberInfo, Ownership } from "./coordinator.js";
import { groupEpoch } from "./epoch.js";
import { GroupView } from "./group-view.js";
import { rendezvousOwner } from "./rendezvous.js";

export interface EtcdCoordinatorOptions {
  /** http://host:port of each etcd endpoint. */
  endpoints: string[];
  /** Key prefix of this ratemesh deployment, e.g. "/ratemesh". */
  prefix: string;
  ttlSeconds: number;
  logger: Logger;
  /** False when the processing loop stopped making progress. */
  healthy?: () => boolean;
  /** Deadline of each etcd call. */
  callTimeoutMs?: number;
  /** Told of each loss of the lease and each failed keepalive (to count them). */
  events?: { leaseLost?: () => void; keepaliveFailed?: () => void };
}

interface Held {
  ownership: Ownership;
  controller: AbortController;
  key: string;
}

const WATCHDOG_MS = 100;
const RESYNC_MS = 2000;

export class EtcdCoordinator implements Coordinator {
  readonly kind = "etcd";
  readonly memberId = randomUUID();
  private readonly client: Etcd3;
  private readonly description = `${hostname()} pid ${process.pid}`;
  private readonly joinedAt = new Date();
  private readonly ttl: number;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private groupEpoch = 0n;
  /** Local deadline of the lease (ms since the epoch). */
  private validUntil = 0;
  private lastFiredAt = 0;
  private readonly staleLeases = new Set<Lease>();
  private readonly owned = new Map<string, Held>();
  private readonly group: GroupView;
  private readonly listeners = new Set<() => void>();
  private readonly watchers: Watcher[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private lastResync = 0;
  private rejoining: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: EtcdCoordinatorOptions) {
    this.group = new GroupView(this.key("members", ""), this.key("stepback", ""));
    this.ttl = Math.max(2, Math.round(opts.ttlSeconds));
    const callTimeout = opts.callTimeoutMs ?? Math.min(5000, (this.ttl * 1000) / 2);
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: callTimeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
      // etcd3's defaults wait up to 5 s (circuit breaker) and 30 s (watch
      // backoff) before talking to an etcd that came back: far longer than
      // a lease TTL, so recovery after an etcd restart would lag.
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
        // etcd3 calls .next() on this value at run time, as on a backoff
        // factory; its type declaration asks for a backoff instance.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
      },
    });
  }

  get epoch(): bigint {
    return this.groupEpoch;
  }

  private key(kind: "members" | "scopes" | "stepback" | "epoch", ...parts: string[]): string {
    return [this.opts.prefix, kind, ...parts.map(encodeURIComponent)].join("/");
  }

  /**
   * Joins the group. If etcd does not answer within the call timeout the
   * process starts anyway, without scopes (and reports NOT_SERVING), and
   * keeps trying in the background.
   */
  async start(): Promise<void> {
    this.watchdog = setInterval(() => this.check(), WATCHDOG_MS);
    this.watchdog.unref();
    try {
      await this.join();
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, "etcd did not answer; joining in the background");
      this.rejoin();
    }
  }

  leaseHeld(): boolean {
    return this.leaseId !== undefined && Date.now() < this.validUntil;
  }

  members(): MemberInfo[] {
    return this.group.list();
  }

  held(): Ownership[] {
    return [...this.owned.values()].map((h) => h.ownership);
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  shouldOwn(scopeId: string): boolean {
    if (!this.leaseHeld()) return false;
    return rendezvousOwner(scopeId, this.group.candidates(scopeId, this.memberId, Date.now())) === this.memberId;
  }

  async stepBack(scopeId: string, until: Date): Promise<void> {
    const leaseId = this.leaseId;
    if (leaseId === undefined) return;
    this.group.recordStepBack(scopeId, this.memberId, until.getTime());
    try {
      await this.client
        .put(this.key("stepback", scopeId, this.memberId))
        .value(JSON.stringify({ until: until.getTime() }))
        .lease(leaseId)
        .exec();
    } catch (err) {
      this.opts.logger.warn({ scope_id: scopeId, err: errorMessage(err) }, "could not publish the step-back");
    }
  }

  async acquire(scopeId: string): Promise<Ownership | undefined> {
    const leaseId = this.leaseId;
    const epoch = this.groupEpoch;
    if (leaseId === undefined || !this.leaseHeld() || this.owned.has(scopeId)) return undefined;
    const key = this.key("scopes", scopeId);
    const res = await this.client.if(key, "Create", "==", 0).then(this.client.put(key).value(this.memberId).lease(leaseId)).commit();
    if (!res.succeeded) {
      await this.clearOwnStaleKey(key, leaseId);
      return undefined;
    }
    const token = BigInt(res.header.revision);
    if (this.leaseId !== leaseId || this.stopped) {
      // The lease was lost while the transaction ran: the key dies with it.
      await this.deleteIfCreatedAt(key, token);
      return undefined;
    }
    const controller = new AbortController();
    const ownership: Ownership = { scopeId, epoch, token, signal: controller.signal };
    this.owned.set(scopeId, { ownership, controller, key });
    return ownership;
  }

  async release(ownership: Ownership): Promise<void> {
    const held = this.owned.get(ownership.scopeId);
    if (held?.ownership !== ownership) return;
    this.owned.delete(ownership.scopeId);
    held.controller.abort(new Error(`ownership of ${ownership.scopeId} released`));
    await this.deleteIfCreatedAt(held.key, ownership.token);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdog);
    const held = [...this.owned.values()];
    this.owned.clear();
    for (const h of held) h.controller.abort(new Error("coordinator stopping"));
    await Promise.all(held.map((h) => this.deleteIfCreatedAt(h.key, h.ownership.token)));
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    if (lease !== undefined) {
      // Revoking deletes the member key and anything left under the lease.
      await lease.revoke().catch((err: unknown) => this.opts.logger.warn({ err: errorMessage(err) }, "could not revoke the lease"));
    }
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => {})));
    this.client.close();
  }

  private self(): MemberInfo {
    return { memberId: this.memberId, description: this.description, joinedAt: this.joinedAt };
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger.error({ err }, "coordination listener failed");
      }
    }
  }

  private async join(): Promise<void> {
    const requestedAt = Date.now();
    const lease = this.client.lease(this.ttl, { autoKeepAlive: true });
    // A lease that could not be granted must not crash the process: the
    // error also comes through grant() below.
    lease.on("lost", (err) => this.lost(lease, `lease lost: ${errorMessage(err)}`));
    lease.on("keepaliveFailed", () => this.opts.events?.keepaliveFailed?.());
    lease.on("keepaliveFired", () => {
      this.lastFiredAt = Date.now();
    });
    lease.on("keepaliveSucceeded", (res) => {
      if (lease !== this.lease) return;
      const granted = Number(res.TTL) * 1000;
      if (granted > 0) this.validUntil = Math.max(this.validUntil, this.lastFiredAt + granted);
    });
    let leaseId: string;
    try {
      leaseId = String(await lease.grant());
      // Read at every join: a cluster that lost its keys meanwhile gets a new epoch.
      this.groupEpoch = await groupEpoch(this.client, this.key("epoch"), this.groupEpoch, Date.now);
      await lease
        .put(this.key("members", this.memberId))
        .value(JSON.stringify({ description: this.description, joinedAt: this.joinedAt.toISOString() }))
        .exec();
      if (this.watchers.length === 0) await this.watch();
    } catch (err) {
      lease.release();
      throw err;
    }
    this.lease = lease;
    this.leaseId = leaseId;
    this.validUntil = requestedAt + this.ttl * 1000;
    this.group.setMember(this.self());
    this.opts.logger.info(
      { member_id: this.memberId, lease_id: leaseId, ttl_s: this.ttl, fencing_epoch: this.groupEpoch.toString() },
      "joined the coordination group",
    );
    for (const stale of [...this.staleLeases]) {
      stale
        .revoke()
        .then(() => this.staleLeases.delete(stale))
        .catch(() => this.staleLeases.delete(stale));
    }
    this.notify();
  }

  /** Stops everything that depended on the lease, then rejoins. */
  private lost(lease: Lease, reason: string): void {
    if (lease !== this.lease || this.stopped) return;
    this.lease = undefined;
    this.leaseId = undefined;
    this.validUntil = 0;
    const held = [...this.owned.values()];
    this.owned.clear();
    for (const h of held) h.controller.abort(new Error(`ownership of ${h.ownership.scopeId} lost: ${reason}`));
    this.opts.logger.warn({ reason, scopes_dropped: held.length }, "coordination lease lost: work on every scope stopped");
    this.opts.events?.leaseLost?.();
    lease.release();
    this.staleLeases.add(lease);
    lease.revoke().then(
      () => this.staleLeases.delete(lease),
      () => {},
    );
    this.notify();
    this.rejoin();
  }

  private rejoin(): void {
    if (this.rejoining !== undefined || this.stopped) return;
    this.rejoining = (async () => {
      let delay = 100;
      while (!this.stopped && this.lease === undefined) {
        if (this.opts.healthy === undefined || this.opts.healthy()) {
          try {
            await this.join();
            break;
          } catch (err) {
            this.opts.logger.debug({ err: errorMessage(err) }, "rejoin failed; retrying");
          }
        }
        await sleep(delay);
        delay = Math.min(1000, delay * 2);
      }
    })().finally(() => {
      this.rejoining = undefined;
    });
  }

  private check(): void {
    const lease = this.lease;
    if (lease !== undefined) {
      if (Date.now() >= this.validUntil) this.lost(lease, "no keepalive was acknowledged within the lease TTL");
      else if (this.opts.healthy !== undefined && !this.opts.healthy()) this.lost(lease, "the processing loop stopped making progress");
    }
    if (Date.now() - this.lastResync > RESYNC_MS) {
      this.lastResync = Date.now();
      void this.resync();
    }
  }

  private async watch(): Promise<void> {
    const members = await this.client.watch().prefix(this.key("members", "")).create();
    this.watchers.push(members);
    members.on("put", (kv) => {
      this.group.putMember(kv.key.toString(), kv.value.toString());
      this.notify();
    });
    members.on("delete", (kv) => {
      if (this.group.deleteMember(kv.key.toString())) this.notify();
    });
    members.on("connected", () => void this.resync());
    const backs = await this.client.watch().prefix(this.key("stepback", "")).create();
    backs.on("put", (kv) => {
      if (this.group.putStepBack(kv.key.toString(), kv.value.toString())) this.notify();
    });
    this.watchers.push(backs);
    for (const w of [members, backs]) w.on("error", (err) => this.opts.logger.debug({ err: errorMessage(err) }, "etcd watch error"));
    await this.resync();
  }

  /** Reads members and step-backs again: watch events may have been missed while disconnected. */
  private async resync(): Promise<void> {
    try {
      const [members, backs] = await Promise.all([
        this.client.getAll().prefix(this.key("members", "")).strings(),
        this.client.getAll().prefix(this.key("stepback", "")).strings(),
      ]);
      const changed = this.group.replace(members, backs, this.lease === undefined ? undefined : this.self());
      if (changed) this.notify();
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, "etcd resync failed");
    }
  }

  /** Deletes the key only if it is still the one created at `revision` (ours). Never throws. */
  private async deleteIfCreatedAt(key: string, revision: bigint): Promise<void> {
    try {
      await this.client.if(key, "Create", "==", revision.toString()).then(this.client.delete().key(key)).commit();
    } catch (err) {
      this.opts.logger.warn({ key, err: errorMessage(err) }, "could not delete an ownership key; it goes with the lease");
    }
  }

  /**
   * A key of this member left under an older lease (etcd keeps leases alive
   * for a while after it restarts) is deleted, so that the next attempt can
   * take the scope.
   */
  private async clearOwnStaleKey(key: string, leaseId: string): Promise<void> {
    try {
      const res = await this.client.get(key).exec();
      const kv = res.kvs[0];
      if (kv !== undefined && kv.value.toString() === this.memberId && String(kv.lease) !== leaseId) {
        await this.deleteIfCreatedAt(key, BigInt(kv.create_revision));
      }
    } catch {
      // The next attempt tries again.
    }
  }
}
