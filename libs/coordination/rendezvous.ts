/**
 * Rendezvous (highest random weight) hashing: every member scores every
 * scope, and the highest score owns it. All members agree without talking,
 * and when a member joins or leaves only the scopes it wins or loses move.
 */
import { createHash } from "node:crypto";

function score(scopeId: string, memberId: string): bigint {
  return createHash("sha256").update(scopeId).update("\0").update(memberId).digest().readBigUInt64BE(0);
}

/** The member that should own the scope, among the candidates (undefined if none). */
export function rendezvousOwner(scopeId: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const m of members) {
    const s = score(scopeId, m);
    if (s > bestScore || (s === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}
