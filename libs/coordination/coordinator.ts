/**
 * How collector processes share scopes. Whoever holds a scope's ownership
 * is the only one that may commit its periods, and every commit carries the
 * ownership's fencing token so that storage can refuse a stale owner.
 */

export interface Ownership {
  readonly scopeId: string;
  /**
   * The coordinator epoch the token belongs to: a new coordinator (etcd
   * wiped or rebuilt, a move from the embedded coordinator) has a newer
   * one. Storage orders (epoch, token), so tokens may start again in a new
   * epoch; sent with every commit.
   */
  readonly epoch: bigint;
  /** Increases with every new ownership of the scope within the epoch; sent with every commit. */
  readonly token: bigint;
  /**
   * Aborted the moment the ownership is lost or released: work on the scope
   * must stop at once and commit nothing more.
   */
  readonly signal: AbortSignal;
}

export interface MemberInfo {
  memberId: string;
  description: string;
  joinedAt: Date;
}

export interface Coordinator {
  readonly kind: "memory" | "etcd";
  readonly memberId: string;
  /** The epoch of the ownerships taken now (0 until the coordinator has joined). */
  readonly epoch: bigint;
  start(): Promise<void>;
  /** True while this member may own scopes (its lease is alive). */
  leaseHeld(): boolean;
  members(): MemberInfo[];
  /**
   * Whether this member is the one that should own the scope, given the live
   * members and the scopes members stepped back from (see stepBack).
   */
  shouldOwn(scopeId: string): boolean;
  /**
   * Tells the other members that this one cannot make progress on the scope
   * until `until` (its source keeps failing from here), so that the next
   * member in line takes it over meanwhile. When every member stepped back,
   * the usual owner keeps it.
   */
  stepBack(scopeId: string, until: Date): Promise<void>;
  /** Calls the listener whenever the members (or step-backs) change. */
  onChange(listener: () => void): void;
  /** The ownerships held right now. */
  held(): Ownership[];
  /** Takes the scope if nobody owns it; undefined if someone else does. */
  acquire(scopeId: string): Promise<Ownership | undefined>;
  /** Gives the scope up; its signal is aborted. Never throws. */
  release(ownership: Ownership): Promise<void>;
  /** Releases everything and leaves the group. */
  stop(): Promise<void>;
}
