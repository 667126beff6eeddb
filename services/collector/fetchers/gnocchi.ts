/**
 * The Gnocchi fetcher: the distinct values of `scope_attribute` over the
 * resources of each of `resource_types`, as CloudKitty's. CloudKitty pages
 * with an ever-growing `not in [every scope found so far]` filter; here the
 * resources are read sorted by the scope attribute, and each next page
 * starts after the last scope seen (`scope_attribute > last`), so a page
 * never repeats a scope's other resources and the request stays small.
 * Memory holds one page and the set of scopes found (the answer itself),
 * whatever the number of resources; requests are at most the number of
 * scopes, and at most resources / page size, plus one.
 */
import { mapLimit } from "../../../libs/async/limit.js";
import type { GnocchiClient, SearchQuery } from "../sources/gnocchi.js";
import type { Fetcher } from "./fetcher.js";

export interface GnocchiFetcherOptions {
  scopeAttribute: string;
  resourceTypes: string[];
}

export class GnocchiFetcher implements Fetcher {
  readonly name = "gnocchi";

  constructor(
    readonly client: GnocchiClient,
    private readonly opts: GnocchiFetcherOptions,
  ) {}

  /** The search of one page: the first one skips resources without the attribute. */
  pageQuery(resourceType: string, after: string | undefined): SearchQuery {
    const attr = this.opts.scopeAttribute;
    return {
      resourceType,
      filter: after === undefined ? { "!=": { [attr]: null } } : { ">": { [attr]: after } },
      sort: [`${attr}:asc`],
      attrs: [attr],
      marker: undefined,
    };
  }

  async listScopes(signal?: AbortSignal): Promise<string[]> {
    const found = new Set<string>();
    const attr = this.opts.scopeAttribute;
    await mapLimit(this.opts.resourceTypes, this.opts.resourceTypes.length, async (type) => {
      let after: string | undefined;
      for (;;) {
        const page = await this.client.searchResources(this.pageQuery(type, after), signal);
        for (const r of page.resources) {
          const v = r[attr];
          if (typeof v === "string" && v !== "") found.add(v);
        }
        const last = page.resources.at(-1)?.[attr];
        if (!page.more || typeof last !== "string") return;
        after = last;
      }
    });
    return [...found].sort();
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
