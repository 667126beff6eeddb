/** A fetcher lists the scopes (tenants) to rate. */
export interface Fetcher {
  readonly name: string;
  listScopes(signal?: AbortSignal): Promise<string[]>;
  close(): Promise<void>;
}
