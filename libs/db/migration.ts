/** A versioned, forward-only schema change. Each engine has its own list. */
export interface Migration {
  version: number;
  name: string;
  /** One or more SQL statements. */
  sql: string;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return Math.max(0, ...migrations.map((m) => m.version));
}
