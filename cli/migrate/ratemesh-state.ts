/**
 * What a migration changes in ratemesh besides the price list: the rating
 * modules' states and priorities, and the scope states. Each change is a
 * line to print (`+` create, `~` update, `!` what needs the operator) and,
 * unless it is only said, the call that makes it.
 *
 * Scope states change meaning on the way: CloudKitty's
 * `last_processed_timestamp` is the begin of the last rated period,
 * ratemesh's state its end, so the state is that timestamp plus a period;
 * the next period rated is the same in both.
 */
import { ListScopesRequest, type Scope } from "../../libs/gen/ratemesh/v1/storage.js";
import type { Context } from "../context.js";
import { iso } from "../dates.js";
import { allPages } from "../paging.js";
import type { CloudKittyModule, CloudKittyScope } from "./cloudkitty-api.js";
import { utc } from "./price-list.js";

export interface Change {
  sign: "+" | "~" | "-" | "!";
  text: string;
  run?: (ctx: Context) => Promise<void>;
}

/** The modules both have (hashmap, noop) as CloudKitty has them; PyScripts said to have no counterpart. */
export async function moduleChanges(ctx: Context, ck: CloudKittyModule[], pyscripts: string[]): Promise<Change[]> {
  const ours = new Map((await ctx.rating.listModules({})).modules.map((m) => [m.name, m]));
  const out: Change[] = [];
  for (const m of ck) {
    const mine = ours.get(m.module_id);
    if (m.module_id === "pyscripts") {
      if (m.enabled || pyscripts.length > 0) {
        out.push({
          sign: "!",
          text: `module pyscripts (${m.enabled ? "enabled" : "disabled"}, scripts: ${pyscripts.join(", ") || "none"}): ratemesh has no PyScripts; write them as CEL rules (ratemesh rules create) and enable the rules module`,
        });
      }
      continue;
    }
    if (mine === undefined) {
      out.push({ sign: "!", text: `module ${m.module_id}: ratemesh has no such module` });
      continue;
    }
    const diffs: string[] = [];
    if (mine.enabled !== m.enabled) diffs.push(`enabled ${mine.enabled ? "yes" : "no"} -> ${m.enabled ? "yes" : "no"}`);
    if (mine.priority !== m.priority) diffs.push(`priority ${mine.priority} -> ${m.priority}`);
    if (diffs.length === 0) continue;
    out.push({
      sign: "~",
      text: `module ${m.module_id}: ${diffs.join(", ")}`,
      run: async (c) => {
        await c.rating.updateModule({ name: m.module_id, enabled: m.enabled, priority: m.priority });
      },
    });
  }
  return out;
}

/** ratemesh's state for a CloudKitty scope: its last_processed_timestamp plus one period; undefined when never rated. */
export function stateFrom(s: CloudKittyScope, periodSeconds: number): Date | undefined {
  if (s.last_processed_timestamp === null || s.last_processed_timestamp === "") return undefined;
  const begin = new Date(utc(s.last_processed_timestamp));
  if ((begin.getTime() / 1000) % periodSeconds !== 0) {
    throw new Error(
      `scope ${s.scope_id}: last_processed_timestamp ${iso(begin)} is not a boundary of ${periodSeconds} s periods: give the period CloudKitty rated with (--period or [collect] period)`,
    );
  }
  return new Date(begin.getTime() + periodSeconds * 1000);
}

export async function scopeChanges(ctx: Context, ck: CloudKittyScope[], periodSeconds: number): Promise<Change[]> {
  const ids = ck.map((s) => s.scope_id);
  const ours = new Map<string, Scope>();
  for (let i = 0; i < ids.length; i += 1000) {
    const page = await allPages(async (pageToken) => {
      const r = await ctx.scopes.listScopes(ListScopesRequest.fromPartial({ scopeIds: ids.slice(i, i + 1000), pageSize: 1000, pageToken }));
      return { items: r.scopes, next: r.nextPageToken };
    });
    for (const s of page) ours.set(s.scopeId, s);
  }
  const out: Change[] = [];
  for (const s of ck) {
    const state = stateFrom(s, periodSeconds);
    const mine = ours.get(s.scope_id);
    const meaning =
      state === undefined
        ? "never rated"
        : `state ${iso(state)} (CloudKitty's last_processed_timestamp ${utc(s.last_processed_timestamp ?? "")} is the begin of its last rated period)`;
    if (mine === undefined) {
      out.push({
        sign: "+",
        text: `scope ${s.scope_id}: ${meaning}, ${s.active ? "active" : "inactive"}`,
        run: async (c) => {
          await c.scopes.createScope({
            scopeId: s.scope_id,
            active: s.active,
            state,
            scopeKey: s.scope_key ?? "",
            fetcher: s.fetcher ?? "",
            collector: s.collector ?? "",
          });
        },
      });
      continue;
    }
    const at = mine.state?.getTime();
    if (state !== undefined && (at === undefined || at < state.getTime())) {
      out.push({
        sign: "!",
        text: `scope ${s.scope_id}: ratemesh's state (${mine.state === undefined ? "never rated" : iso(mine.state)}) is behind CloudKitty's ${iso(state)}: the periods between would be rated by both; stop that collector and decide which system bills them (a state only moves back, with ratemesh scopes reset)`,
      });
    }
    if (mine.active !== s.active) {
      out.push({
        sign: "~",
        text: `scope ${s.scope_id}: active ${mine.active ? "yes" : "no"} -> ${s.active ? "yes" : "no"}`,
        run: async (c) => {
          await c.scopes.updateScope({ scopeId: s.scope_id, active: s.active });
        },
      });
    }
  }
  return out;
}
