/** AuditService: a service's audit trail, newest first, paged by sequence number. */
import type { AuditServiceService } from "../gen/ratemesh/v1/audit.js";
import type { Handlers } from "../grpc/server.js";
import { decodePageToken, encodePageToken, pageSize } from "../validation/fields.js";
import type { AuditTrail } from "./trail.js";

export function auditHandlers(trail: AuditTrail): Handlers<typeof AuditServiceService> {
  return {
    async listAuditEvents(req) {
      const limit = pageSize(req.pageSize, "page_size", 100, 1000);
      const token = decodePageToken(req.pageToken, "page_token", (v): v is { s: number } => Number.isSafeInteger((v as { s?: unknown }).s));
      const rows = await trail.list({ method: req.method, actor: req.actor, limit: limit + 1, before: token?.s });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        events: page.map((e) => ({
          seq: String(e.seq),
          at: e.at,
          actor: e.actor,
          project: e.project ?? "",
          method: e.method,
          target: e.target,
        })),
        nextPageToken: rows.length > limit && last !== undefined ? encodePageToken({ s: last.seq }) : "",
      };
    },
  };
}
