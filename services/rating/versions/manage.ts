/**
 * Drafts and published versions of the price list: what PriceListService
 * does, behind its handlers (api.ts). Drafts are written alone (they change
 * no price); publishing is one write transaction (publish.ts).
 */
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../libs/errors/errors.js";
import { loadHashmap } from "../modules/hashmap/repository.js";
import { loadRules } from "../modules/rules/repository.js";
import { PriceListManager } from "../price-list-manager.js";
import { checkPriceList, type PriceList } from "./content.js";
import { type Change, diffPriceLists } from "./diff.js";
import { liveAt } from "./live.js";
import { type PublishInput, publishDraft } from "./publish.js";
import * as store from "./store.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function draftName(name: string): string {
  if (!NAME.test(name)) {
    throw new InvalidArgumentError("name", `${JSON.stringify(name)} is not a draft name (letters, digits, ".", "_", "-"; at most 128)`);
  }
  return name;
}

export class VersionManager extends PriceListManager {
  protected readonly conflict = "the price list changed at the same time; retry";

  /** The price list in force at `at`, as a draft would copy it. */
  inForce(at: number): Promise<PriceList> {
    return this.db.read(async (tx) => liveAt(await loadHashmap(tx), await loadRules(tx), at).list);
  }

  async createDraft(name: string, content: PriceList | undefined, createdBy: string): Promise<store.Draft> {
    draftName(name);
    const now = this.clock.now().getTime();
    if (content !== undefined) checkPriceList(content);
    const draft: store.Draft = { name, content: content ?? (await this.inForce(now)), createdBy, createdAt: now, updatedAt: now };
    await store.insertDraft(this.db, draft);
    return draft;
  }

  getDraft(name: string): Promise<store.Draft> {
    return store.mustDraft(this.db, draftName(name));
  }

  listDrafts(): Promise<store.Draft[]> {
    return store.listDrafts(this.db);
  }

  async updateDraft(name: string, content: PriceList): Promise<store.Draft> {
    draftName(name);
    checkPriceList(content);
    await store.replaceDraft(this.db, name, content, this.clock.now().getTime());
    return store.mustDraft(this.db, name);
  }

  async deleteDraft(name: string): Promise<void> {
    await store.deleteDraft(this.db, draftName(name));
  }

  /** What publishing the draft at `at` would change. */
  diff(name: string, at: number): Promise<Change[]> {
    draftName(name);
    return this.db.read(async (tx) => {
      const draft = await store.mustDraft(tx, name);
      return diffPriceLists(liveAt(await loadHashmap(tx), await loadRules(tx), at), draft.content);
    });
  }

  async publish(input: PublishInput): Promise<store.Version> {
    draftName(input.draft);
    try {
      return await this.write((tx) => publishDraft(tx, input, this.clock.now().getTime()));
    } catch (err) {
      // A publish retried after an answer was lost finds its draft gone: say what became of it.
      if (!(err instanceof NotFoundError)) throw err;
      const done = await store.lastVersionFrom(this.db, input.draft);
      if (done === undefined) throw err;
      throw new FailedPreconditionError(
        `draft ${input.draft} was published as version ${done.number} at ${new Date(done.publishedAt).toISOString()} (effective ${new Date(done.effective).toISOString()}) and is no more`,
      );
    }
  }

  listVersions(before: number, limit: number): Promise<store.Version[]> {
    return store.listVersions(this.db, before, limit);
  }

  getVersion(number: number): Promise<store.Version> {
    return store.mustVersion(this.db, number);
  }
}
