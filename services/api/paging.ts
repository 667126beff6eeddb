/**
 * CloudKitty pages with offset and limit; ratemesh's RPCs page with opaque
 * tokens. The gateway reads pages from the start until it holds
 * offset + limit items, then keeps the window.
 */

export interface Page<T> {
  items: T[];
  next: string;
}

/** Items [offset, offset + limit) of a token-paged listing (limit Infinity: everything from offset). */
export async function window<T>(
  fetch: (pageToken: string, pageSize: number) => Promise<Page<T>>,
  offset: number,
  limit: number,
  maxPageSize: number,
): Promise<T[]> {
  const want = offset + limit;
  const items: T[] = [];
  let token = "";
  do {
    const size = Math.max(1, Math.min(maxPageSize, want - items.length));
    const page = await fetch(token, size);
    items.push(...page.items);
    token = page.next;
  } while (token !== "" && items.length < want);
  return items.slice(offset, want);
}

/** Every item of a token-paged listing. */
export function all<T>(fetch: (pageToken: string, pageSize: number) => Promise<Page<T>>, maxPageSize: number): Promise<T[]> {
  return window(fetch, 0, Number.POSITIVE_INFINITY, maxPageSize);
}
