/**
 * The coordinator epoch of an etcd coordination group: the first part of
 * every fencing record (epoch, token), so that tokens which go backwards
 * (etcd's revisions start again in a wiped or rebuilt cluster; the embedded
 * coordinator counted in other units) never lock a scope.
 *
 * It lives under `<prefix>/epoch`, created once, by whichever member comes
 * first, with a transaction that succeeds only when the key is absent; the
 * others read it. Its value is larger than any epoch before it: the wall
 * clock in milliseconds when it was created, and never lower than one this
 * process has seen. So a cluster that lost its keys gets a new, newer
 * epoch, and its members' commits win over every token of the old one,
 * while a member still working under the old epoch is refused.
 */
import type { Etcd3 } from "etcd3";

/** The epoch of the group: read, or created if absent. `floor`: the last epoch this process saw. */
export async function groupEpoch(client: Etcd3, key: string, floor: bigint, nowMs: () => number): Promise<bigint> {
  for (;;) {
    const current = await client.get(key).string();
    if (current !== null) {
      const epoch = parseEpoch(current);
      if (epoch !== undefined) return epoch;
    }
    const now = BigInt(nowMs());
    const epoch = now > floor ? now : floor + 1n;
    const create =
      current === null
        ? client.if(key, "Create", "==", 0)
        : // An unreadable value (written by hand): replaced, if nobody replaced it first.
          client.if(key, "Value", "==", current);
    const res = await create.then(client.put(key).value(epoch.toString())).commit();
    if (res.succeeded) return epoch;
    // Another member created it meanwhile: read theirs.
  }
}

function parseEpoch(text: string): bigint | undefined {
  return /^[1-9]\d{0,18}$/.test(text.trim()) ? BigInt(text.trim()) : undefined;
}
