/**
 * Publishing a draft: the draft becomes the price list from its effective
 * date E on, in ONE write transaction (which bumps the version counter, so
 * every replica reloads, store/sql.ts), and the version is recorded in the
 * same transaction: either all of it is in force from E with its version
 * row, or nothing changed.
 *
 * How, with the validity windows every mapping and rule already has
 * (validity.ts), so that periods starting before E keep their prices:
 *
 * 1. a mapping or rule in force at E whose key and text are in the draft
 *    unchanged (and that has no end) is kept as it is;
 * 2. any other one in force at E ends at E (soft-deleted instead if it
 *    starts at E: its window would be empty);
 * 3. one scheduled to start after E is soft-deleted (the draft replaces
 *    everything from E on);
 * 4. every draft row not kept is created with the window [E, open), with
 *    its tiers and time of use (a mapping whose tiers or windows changed is
 *    not kept: they are part of its text, content.ts);
 * 5. groups, services and fields the draft names are created if missing,
 *    never deleted (a service whose rules all ended prices nothing);
 * 6. thresholds have no window (as in CloudKitty): they change at once, so
 *    a draft that changes thresholds can only be effective now or, with
 *    force, in the past (FAILED_PRECONDITION for a future date).
 *
 * A past E needs force, as a mapping's past start does: periods already
 * rated would change price when re-rated.
 */
import { randomUUID } from "node:crypto";
import { FailedPreconditionError, InvalidArgumentError } from "../../../libs/errors/errors.js";
import { Decimal } from "../../../libs/money/decimal.js";
import { levelKey } from "../modules/hashmap/entries.js";
import * as hashmap from "../modules/hashmap/repository.js";
import * as rulesRepo from "../modules/rules/repository.js";
import type { SqlExecutor } from "../store/sql.js";
import { isoTime } from "../validity.js";
import { flatMappings, flatThresholds, mappingKey, mappingText, ruleText, thresholdKey, thresholdText } from "./content.js";
import { diffPriceLists, summarize } from "./diff.js";
import { liveAt } from "./live.js";
import * as store from "./store.js";

export interface PublishInput {
  draft: string;
  /** Epoch ms; undefined: now. */
  effective: number | undefined;
  force: boolean;
  publishedBy: string;
}

export async function publishDraft(tx: SqlExecutor, input: PublishInput, now: number): Promise<store.Version> {
  const effective = input.effective ?? now;
  if (effective < now && !input.force) {
    throw new InvalidArgumentError(
      "effective",
      `${isoTime(effective)} is in the past (now ${isoTime(now)}): periods already rated would change price when re-rated; set force to do it anyway`,
    );
  }
  const draft = await store.mustDraft(tx, input.draft);
  const live = liveAt(await hashmap.loadHashmap(tx), await rulesRepo.loadRules(tx), effective);
  const changes = diffPriceLists(live, draft.content);
  const thresholdChange = changes.find((c) => c.kind === "threshold");
  if (thresholdChange !== undefined && effective > now) {
    throw new FailedPreconditionError(
      `threshold ${thresholdChange.key} changes, and thresholds have no validity window: publish a draft that changes thresholds effective now (or, with force, in the past), not at ${isoTime(effective)}`,
    );
  }

  // 5. What the draft names exists.
  for (const g of draft.content.groups) {
    if (!live.groupIds.has(g)) live.groupIds.set(g, (await hashmap.groups.insert(tx, { group_id: randomUUID(), name: g })).groupId);
  }
  for (const s of draft.content.services) {
    if (!live.serviceIds.has(s.name)) {
      live.serviceIds.set(s.name, (await hashmap.services.insert(tx, { service_id: randomUUID(), name: s.name })).serviceId);
    }
    for (const f of s.fields) {
      const k = `${s.name}/${f.name}`;
      if (!live.fieldIds.has(k)) {
        const row = await hashmap.fields.insert(tx, {
          field_id: randomUUID(),
          service_id: live.serviceIds.get(s.name) as string,
          name: f.name,
        });
        live.fieldIds.set(k, row.fieldId);
      }
    }
  }
  const groupId = (name: string) => (name === "" ? null : (live.groupIds.get(name) as string));
  const parent = (x: { service: string; field: string }) =>
    x.field === ""
      ? { serviceId: live.serviceIds.get(x.service) as string, fieldId: null }
      : { serviceId: null, fieldId: live.fieldIds.get(`${x.service}/${x.field}`) as string };

  // 1-3 for mappings and rules: end or delete what the draft does not keep, first, so names are free.
  const keptMappings = new Set<string>();
  const wanted = new Map(flatMappings(draft.content).map((m) => [mappingKey(m), mappingText(m)]));
  for (const m of live.mappings) {
    const k = mappingKey(m);
    if (m.row.end === null && wanted.get(k) === mappingText(m)) keptMappings.add(k);
    else await hashmap.updateMapping(tx, m.row.start >= effective ? { ...m.row, deletedAt: now } : { ...m.row, end: effective });
  }
  for (const m of live.scheduledMappings) await hashmap.updateMapping(tx, { ...m.row, deletedAt: now });
  const keptRules = new Set<string>();
  const wantedRules = new Map(draft.content.rules.map((r) => [r.name, ruleText(r)]));
  for (const r of live.rules) {
    if (r.row.end === null && wantedRules.get(r.name) === ruleText(r)) keptRules.add(r.name);
    else await rulesRepo.updateRule(tx, r.row.start >= effective ? { ...r.row, deletedAt: now } : { ...r.row, end: effective });
  }
  for (const r of live.scheduledRules) await rulesRepo.updateRule(tx, { ...r.row, deletedAt: now });

  // 4. The draft's new rows, from E.
  for (const m of flatMappings(draft.content)) {
    if (keptMappings.has(mappingKey(m))) continue;
    await hashmap.insertMapping(tx, {
      mappingId: randomUUID(),
      ...parent(m),
      value: m.field === "" ? null : m.value,
      type: m.type,
      cost: m.cost,
      groupId: groupId(m.group),
      tenantId: m.tenant === "" ? null : m.tenant,
      start: effective,
      end: null,
      name: m.name === "" ? null : m.name,
      description: m.description,
      createdAt: now,
      deletedAt: null,
      tiers: m.tiers ?? null,
      timeOfUse: m.timeOfUse ?? null,
    });
  }
  for (const r of draft.content.rules) {
    if (keptRules.has(r.name)) continue;
    await rulesRepo.insertRule(tx, {
      ruleId: randomUUID(),
      name: r.name,
      condition: r.condition,
      expression: r.expression,
      order: r.order,
      tenantId: r.tenant === "" ? null : r.tenant,
      start: effective,
      end: null,
      description: r.description,
      createdAt: now,
      deletedAt: null,
    });
  }

  // 6. Thresholds, at once (only when they change, which the check above allows only for E <= now).
  if (thresholdChange !== undefined) {
    const wantedThresholds = new Map(flatThresholds(draft.content).map((t) => [thresholdKey(t), thresholdText(t)]));
    const kept = new Set<string>();
    for (const t of live.thresholds) {
      const k = thresholdKey(t);
      if (wantedThresholds.get(k) === thresholdText(t)) kept.add(k);
      else await hashmap.thresholds.delete(tx, t.row.thresholdId);
    }
    for (const t of flatThresholds(draft.content)) {
      if (kept.has(thresholdKey(t))) continue;
      const level = Decimal.parse(t.level);
      await hashmap.insertThreshold(
        tx,
        {
          thresholdId: randomUUID(),
          ...parent(t),
          level: t.level,
          type: t.type,
          cost: t.cost,
          groupId: groupId(t.group),
          tenantId: t.tenant === "" ? null : t.tenant,
        },
        levelKey(level),
      );
    }
  }

  const version: store.Version = {
    number: (await store.lastVersionNumber(tx)) + 1,
    draft: draft.name,
    publishedBy: input.publishedBy,
    publishedAt: now,
    effective,
    summary: summarize(changes),
    content: draft.content,
    changes,
  };
  await store.insertVersion(tx, version);
  await store.deleteDraft(tx, draft.name);
  return version;
}
