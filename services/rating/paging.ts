/**
 * Paging of the management APIs' listings (hashmap and CEL rules alike):
 * rows come in creation order, and a page token holds the seq of the last
 * row of the previous page.
 */
import { decodePageToken, encodePageToken, pageSize } from "../../libs/validation/fields.js";
import type { Page } from "./store/table.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

interface SeqToken {
  s: number;
}

function isSeqToken(v: unknown): v is SeqToken {
  return typeof v === "object" && v !== null && Number.isSafeInteger((v as SeqToken).s);
}

/** The page a request asks for (page_token, page_size), or INVALID_ARGUMENT naming the field. */
export function requestedPage(token: string, size: number): Page {
  const t = decodePageToken(token, "page_token", isSeqToken);
  // One more than asked: tells whether there is a next page.
  return { afterSeq: t?.s ?? 0, limit: pageSize(size, "page_size", DEFAULT_PAGE, MAX_PAGE) + 1 };
}

/** The rows read for `page` as the page's items, and the token of the next page ("" for the last). */
export function pageOf<T extends { seq: number }>(rows: T[], page: Page): { items: T[]; next: string } {
  if (rows.length < page.limit) return { items: rows, next: "" };
  const items = rows.slice(0, page.limit - 1);
  return { items, next: encodePageToken({ s: (items[items.length - 1] as T).seq }) };
}
