/**
 * GET /v2/summary over StorageService Summary: sums of qty and price
 * ("rate") grouped by any groupby key, "type" and a time bucket ("time",
 * "time-d", "time-w", "time-m", "time-y"), filtered by key:value pairs
 * (several values of a key: any of them), in CloudKitty's "table" or
 * "object" format, paged by offset and limit. Rows come sorted by the
 * group-by values, then by time, as CloudKitty sorts them; sums are JSON
 * numbers with their exact digits.
 */
import type { FastifyInstance } from "fastify";
import { type SummaryRequest, SummaryRequest as SummaryRequestMessage } from "../../../libs/gen/ratemesh/v1/storage.js";
import { badRequest } from "../errors.js";
import { callerOf, type Gateway } from "../gateway.js";
import { RawNumber } from "../json.js";
import { keyValues, multi, type PagedQuery, pagedQuerySchema, single, timestamp } from "../query.js";
import { sendJson } from "../reply.js";
import { awareIso } from "../time.js";

const TIME_BUCKETS = new Set(["time", "time-d", "time-w", "time-m", "time-y"]);
const MAX_PAGE = 10000;

interface SummaryQuery extends PagedQuery {
  groupby?: string[];
  filters?: string[];
  begin?: string[];
  end?: string[];
  response_format?: string[];
  custom_fields?: string[];
}

/** Storage's column names, as CloudKitty names them. */
const columnName = (c: string) => (c === "price" ? "rate" : c);

function cell(column: string, value: string): unknown {
  if (column === "begin" || column === "end") return awareIso(new Date(value));
  if (column === "qty" || column === "price") return new RawNumber(value);
  return value;
}

export function registerSummary(app: FastifyInstance, gw: Gateway): void {
  app.get<{ Querystring: SummaryQuery }>(
    "/v2/summary",
    { schema: pagedQuerySchema("groupby", "filters", "begin", "end", "response_format", "custom_fields") },
    async (request, reply) => {
      const q = request.query;
      const format = single(q.response_format, "response_format") ?? "table";
      if (format !== "table" && format !== "object") {
        throw badRequest(`Invalid response format [${format}]. Valid format are [['table', 'object']].`);
      }
      if (q.custom_fields !== undefined) {
        throw badRequest("custom_fields is an InfluxDB query fragment: ratemesh storage sums qty and price only.");
      }
      const groupBy = [...new Set(multi(q.groupby))];
      const filters = [...keyValues(q.filters, "filters", false)].map(([key, values]) => ({ key, values }));
      const req: SummaryRequest = SummaryRequestMessage.fromPartial({
        begin: timestamp(single(q.begin, "begin"), "begin"),
        end: timestamp(single(q.end, "end"), "end"),
        groupBy,
        filters,
        orderBy: [...groupBy.filter((k) => !TIME_BUCKETS.has(k)).map((column) => ({ column })), { column: "begin" }],
      });
      const caller = callerOf(gw, request);
      const want = q.offset + q.limit;
      let columns: string[] = [];
      let total = 0;
      const rows: string[][] = [];
      let pageToken = "";
      do {
        const res = await gw.services.storage.summary({ ...req, pageToken, pageSize: Math.min(MAX_PAGE, want - rows.length) }, caller);
        columns = res.columns;
        total = Number(res.totalRows);
        rows.push(...res.rows.map((r) => r.values));
        pageToken = res.nextPageToken;
      } while (pageToken !== "" && rows.length < want);
      const page = rows.slice(q.offset, want);
      const names = columns.map(columnName);
      if (format === "object") {
        const results = page.map((r) => Object.fromEntries(columns.map((c, i) => [columnName(c), cell(c, r[i] ?? "")])));
        return sendJson(reply, 200, { total, results, format });
      }
      const results = page.map((r) => columns.map((c, i) => cell(c, r[i] ?? "")));
      // CloudKitty takes the columns from the first result: none without results.
      return sendJson(reply, 200, { total, columns: page.length > 0 ? names : [], results, format });
    },
  );
}
