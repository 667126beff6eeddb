/**
 * What an etcd coordination member knows of the group: the live members
 * (`<prefix>/members/<id>`) and the scopes members stepped back from
 * (`<prefix>/stepback/<scope>/<id>`), kept up to date from watch events and
 * replaced by a full read now and then (events may be missed while
 * disconnected). Who should own a scope is decided from this view.
 */
import type { MemberInfo } from "./coordinator.js";

export class GroupView {
  private members = new Map<string, MemberInfo>();
  /** scope -> member -> until (ms). */
  private stepBacks = new Map<string, Map<string, number>>();

  constructor(
    private readonly membersPrefix: string,
    private readonly stepBackPrefix: string,
  ) {}

  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => a.memberId.localeCompare(b.memberId));
  }

  /** The members that may own the scope at `now` (with `self`): those that have not stepped back from it, unless every one has. */
  candidates(scopeId: string, self: string, now: number): string[] {
    const live = new Set(this.members.keys());
    live.add(self);
    const back = this.stepBacks.get(scopeId);
    const all = [...live];
    if (back === undefined) return all;
    const willing = all.filter((m) => (back.get(m) ?? 0) <= now);
    return willing.length > 0 ? willing : all;
  }

  setMember(info: MemberInfo): void {
    this.members.set(info.memberId, info);
  }

  /** A member key written (a watch event). */
  putMember(key: string, value: string): void {
    const id = decodeURIComponent(key.slice(this.membersPrefix.length));
    this.members.set(id, parseMember(id, value));
  }

  /** A member key deleted (a watch event); true if the member was known. */
  deleteMember(key: string): boolean {
    return this.members.delete(decodeURIComponent(key.slice(this.membersPrefix.length)));
  }

  /** A step-back key written (a watch event); true if it was understood. */
  putStepBack(key: string, value: string): boolean {
    const p = this.parseStepBack(key, value);
    if (p !== undefined) this.recordStepBack(p.scopeId, p.memberId, p.until, this.stepBacks);
    return p !== undefined;
  }

  recordStepBack(scopeId: string, memberId: string, until: number, into = this.stepBacks): void {
    let m = into.get(scopeId);
    if (m === undefined) {
      m = new Map();
      into.set(scopeId, m);
    }
    m.set(memberId, until);
  }

  /** Replaces the view with a full read of both prefixes (and `self`, while it holds a lease); true if it changed. */
  replace(members: Record<string, string>, backs: Record<string, string>, self: MemberInfo | undefined): boolean {
    const next = new Map<string, MemberInfo>();
    for (const [k, v] of Object.entries(members)) {
      const id = decodeURIComponent(k.slice(this.membersPrefix.length));
      next.set(id, parseMember(id, v));
    }
    if (self !== undefined) next.set(self.memberId, self);
    const nextBacks = new Map<string, Map<string, number>>();
    for (const [k, v] of Object.entries(backs)) {
      const p = this.parseStepBack(k, v);
      if (p !== undefined) this.recordStepBack(p.scopeId, p.memberId, p.until, nextBacks);
    }
    const changed = !sameKeys(next, this.members) || nextBacks.size !== this.stepBacks.size;
    this.members = next;
    this.stepBacks = nextBacks;
    return changed;
  }

  private parseStepBack(key: string, value: string): { scopeId: string; memberId: string; until: number } | undefined {
    const rest = key.slice(this.stepBackPrefix.length).split("/");
    if (rest.length !== 2) return undefined;
    try {
      const until = Number((JSON.parse(value) as { until?: unknown }).until);
      if (!Number.isFinite(until)) return undefined;
      return { scopeId: decodeURIComponent(rest[0] as string), memberId: decodeURIComponent(rest[1] as string), until };
    } catch {
      return undefined;
    }
  }
}

function parseMember(memberId: string, value: string): MemberInfo {
  try {
    const v = JSON.parse(value) as { description?: string; joinedAt?: string };
    return { memberId, description: v.description ?? "", joinedAt: new Date(v.joinedAt ?? 0) };
  } catch {
    return { memberId, description: "", joinedAt: new Date(0) };
  }
}

function sameKeys<K>(a: Map<K, unknown>, b: Map<K, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}
