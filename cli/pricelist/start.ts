/**
 * Where mappings that name no start begin, said out loud. CloudKitty 17's
 * mappings have no dates: a price list applies to every period, a catch-up
 * included. CloudKitty 23's start now unless forced. So a price list that
 * has never been published (rating has never had a mapping, deleted ones
 * included) starts at the beginning of time, and a later change from now;
 * `--start` (with `--force` for a past instant) chooses otherwise.
 */
import { ListMappingsRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import type { Context } from "../context.js";
import { iso } from "../dates.js";

/** The beginning of time, as a mapping's start: every period begins after it. */
export const BEGINNING_OF_TIME = new Date(0);

export interface StartChoice {
  /** undefined: now, as rating's clock has it when the mapping is created. */
  start: Date | undefined;
  /** Whether the start must be forced (it is in the past). */
  force: boolean;
  /** How the start reads: a date, or "now". */
  label: string;
  /** Which start was chosen and why, for the operator. */
  why: string;
}

/** Whether rating has ever had a mapping. */
export async function everPublished(ctx: Context): Promise<boolean> {
  const r = await ctx.hashmap.listMappings(ListMappingsRequest.fromPartial({ includeDeleted: true, pageSize: 1 }));
  return r.mappings.length > 0;
}

/** The start of mappings that give none: `given` (--start), else by whether the price list was ever published. */
export async function defaultStart(ctx: Context, given: Date | undefined): Promise<StartChoice> {
  if (given !== undefined)
    return { start: given, force: false, label: iso(given), why: `mappings without a start begin at ${iso(given)} (--start)` };
  if (!(await everPublished(ctx))) {
    return {
      start: BEGINNING_OF_TIME,
      force: true,
      label: iso(BEGINNING_OF_TIME),
      why: `mappings without a start begin at the beginning of time (${iso(BEGINNING_OF_TIME)}): the price list was never published, so it prices every period, a catch-up included, as CloudKitty 17's undated mappings do`,
    };
  }
  return {
    start: undefined,
    force: false,
    label: "now",
    why: "mappings without a start begin now: the price list was published before, so a change takes effect from now, as in CloudKitty 23 (--start with --force applies it to past periods, once they are rated again)",
  };
}
