/**
 * The Keystone fetcher, CloudKitty's default: the scopes are the projects
 * on which the rating user (the one the fetcher authenticates as) holds the
 * `rating` role, or every project when `ignore_rating_role` is set; with
 * `ignore_disabled_tenants`, disabled projects are left out.
 *
 * CloudKitty lists every project, then asks for the user's roles on each
 * (one request per project, every cycle). Here the role assignments API
 * answers in one listing (`GET /v3/role_assignments?user.id=…&role.id=…`):
 * the user's direct assignments of the role on projects, which is what
 * CloudKitty's per-project question sees (group and inherited assignments
 * are not counted, by either). Listings follow Keystone's `links.next`;
 * a listing Keystone truncated at its `list_limit` without a next link is
 * an error, never a silent short list. The token, the user id and the
 * role's id are kept between cycles; the listings are read each cycle.
 */
import type { HttpSource } from "../sources/http.js";
import { describeRequest, excerpt, SourceHttpError } from "../sources/http.js";
import { identityUrl, type KeystoneSession, type Token } from "../sources/keystone.js";
import type { Fetcher } from "./fetcher.js";

/** The role CloudKitty looks for. */
export const RATING_ROLE = "rating";

export interface KeystoneFetcherOptions {
  authUrl: string;
  ignoreRatingRole: boolean;
  ignoreDisabledTenants: boolean;
}

interface Listing {
  links?: { next?: string | null };
  truncated?: boolean;
}

export class KeystoneFetcher implements Fetcher {
  readonly name = "keystone";
  /** Requests sent, for tests. */
  requests = 0;
  private roleId: string | undefined;

  constructor(
    private readonly http: HttpSource,
    private readonly session: KeystoneSession,
    private readonly opts: KeystoneFetcherOptions,
  ) {}

  async listScopes(signal?: AbortSignal): Promise<string[]> {
    const { ignoreRatingRole, ignoreDisabledTenants } = this.opts;
    let scopes: Set<string>;
    if (ignoreRatingRole) {
      scopes = new Set(await this.projects(ignoreDisabledTenants, signal));
    } else {
      scopes = await this.withRatingRole(signal);
      if (ignoreDisabledTenants && scopes.size > 0) {
        const enabled = new Set(await this.projects(true, signal));
        scopes = new Set([...scopes].filter((s) => enabled.has(s)));
      }
    }
    return [...scopes].sort();
  }

  /** Project ids (only the enabled ones, when asked). */
  private async projects(enabledOnly: boolean, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.list<{ id?: string }>("projects", enabledOnly ? "/projects?enabled=true" : "/projects", signal);
    return rows.flatMap((p) => (typeof p.id === "string" ? [p.id] : []));
  }

  /** The projects on which the user holds the rating role itself. */
  private async withRatingRole(signal?: AbortSignal): Promise<Set<string>> {
    const roleId = await this.ratingRoleId(signal);
    if (roleId === undefined) return new Set();
    const token = await this.session.token(signal);
    const query = new URLSearchParams({ "user.id": token.userId, "role.id": roleId });
    const assignments = await this.list<{ scope?: { project?: { id?: string }; "OS-INHERIT:inherited_to"?: string } }>(
      "role_assignments",
      `/role_assignments?${query.toString()}`,
      signal,
    );
    const out = new Set<string>();
    for (const a of assignments) {
      const id = a.scope?.project?.id;
      // An inherited assignment gives the role on the project's children, not on the project.
      if (typeof id === "string" && a.scope?.["OS-INHERIT:inherited_to"] === undefined) out.add(id);
    }
    return out;
  }

  /** The rating role's id, looked up once (again while there is none). */
  private async ratingRoleId(signal?: AbortSignal): Promise<string | undefined> {
    if (this.roleId === undefined) {
      const roles = await this.list<{ id?: string; name?: string }>("roles", `/roles?name=${RATING_ROLE}`, signal);
      this.roleId = roles.find((r) => r.name === RATING_ROLE)?.id;
    }
    return this.roleId;
  }

  /** Every row of a Keystone listing, page after page. */
  private async list<T>(key: string, path: string, signal?: AbortSignal): Promise<T[]> {
    const out: T[] = [];
    let url: URL | undefined = identityUrl(this.opts.authUrl, path);
    while (url !== undefined) {
      const what = describeRequest("GET", url);
      const body = await this.get(url, what, signal);
      const rows = (body as Record<string, unknown>)[key];
      if (!Array.isArray(rows)) throw new SourceHttpError("Keystone", what, 200, `no "${key}" list in the answer`, 1, undefined, false);
      out.push(...(rows as T[]));
      const next = (body as Listing).links?.next;
      if (typeof next === "string" && next !== "") {
        url = new URL(next, url);
      } else if ((body as Listing).truncated === true) {
        throw new SourceHttpError(
          "Keystone",
          what,
          200,
          `the listing was truncated at ${rows.length} ${key} (Keystone's list_limit) with no next page: raise [DEFAULT] list_limit in keystone.conf`,
          1,
          undefined,
          false,
        );
      } else {
        url = undefined;
      }
    }
    return out;
  }

  /** A GET with the token; once more with a new token after a 401. */
  private async get(url: URL, what: string, signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const token: Token = await this.session.token(signal);
      this.requests++;
      const res = await this.http.request({
        method: "GET",
        url,
        headers: { accept: "application/json", "x-auth-token": token.value },
        signal,
      });
      if (res.status === 401 && attempt === 1) {
        this.session.invalidate(token);
        continue;
      }
      if (res.status !== 200) throw new SourceHttpError("Keystone", what, res.status, excerpt(res.body), res.attempts, undefined, false);
      try {
        return JSON.parse(res.body);
      } catch {
        throw new SourceHttpError("Keystone", what, res.status, `not JSON: ${excerpt(res.body)}`, res.attempts, undefined, false);
      }
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
