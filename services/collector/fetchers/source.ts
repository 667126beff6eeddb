import type { Fetcher } from "./fetcher.js";

/** A static list of scope ids from [fetcher_source] sources. */
export class SourceFetcher implements Fetcher {
  readonly name = "source";
  constructor(private readonly sources: string[]) {}
  async listScopes(): Promise<string[]> {
    return [...new Set(this.sources)];
  }
  async close(): Promise<void> {}
}
