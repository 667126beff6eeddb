/**
 * Who is calling, once authenticated: a user (from a token), the mesh's
 * own service identity (from a client certificate), or, under noauth,
 * nobody in particular. Roles follow the secure-RBAC defaults: admin
 * implies member, which implies reader.
 */

export type PrincipalKind = "anonymous" | "user" | "service";

export interface Principal {
  readonly kind: PrincipalKind;
  /** Stable id: the user id, or the certificate name. */
  readonly id: string;
  /** For people reading the audit trail and the logs: "name (id)", the certificate name, or "anonymous". */
  readonly display: string;
  /** The project the caller is scoped to, if any. */
  readonly project: string | undefined;
  /** Roles, implied ones included. */
  readonly roles: ReadonlySet<string>;
  /** May act on every project's data (noauth, role admin, the service identity); others are confined to their project. */
  readonly unconfined: boolean;
}

const IMPLIED: Record<string, readonly string[]> = { admin: ["member", "reader"], member: ["reader"] };

/** The roles given and those they imply. */
export function withImpliedRoles(roles: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const r of roles) {
    out.add(r);
    for (const i of IMPLIED[r] ?? []) out.add(i);
  }
  return out;
}

/** Everyone under noauth: no questions asked, no confinement. */
export const NOAUTH_PRINCIPAL: Principal = {
  kind: "anonymous",
  id: "",
  display: "anonymous (noauth)",
  project: undefined,
  roles: new Set(),
  unconfined: true,
};

export function userPrincipal(u: {
  id: string;
  name?: string | undefined;
  project: string | undefined;
  roles: Iterable<string>;
}): Principal {
  const roles = withImpliedRoles(u.roles);
  const display = u.name === undefined || u.name === "" || u.name === u.id ? u.id : `${u.name} (${u.id})`;
  return { kind: "user", id: u.id, display, project: u.project, roles, unconfined: roles.has("admin") };
}

export function servicePrincipal(name: string): Principal {
  return { kind: "service", id: name, display: `service ${name}`, project: undefined, roles: new Set(), unconfined: true };
}
