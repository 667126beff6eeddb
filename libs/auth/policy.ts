/**
 * The policy: for each method, a rule saying who may call it, what a
 * caller confined to one project is narrowed to, and what a change is
 * recorded against in the audit trail. Each service declares its own
 * methods' defaults next to its handlers; a policy file may replace rules.
 * This module only evaluates.
 *
 * A rule is alternatives joined by "or": `role:<name>` (the caller holds
 * the role, implied ones included), `service` (the mesh's service
 * identity), `@` (any authenticated caller), `!` (nobody).
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { Principal } from "./principal.js";

/** One method's policy; `Req` is its request message. */
export interface MethodPolicy<Req = never> {
  /** Who may call it. */
  readonly rule: string;
  /**
   * For a caller confined to a project (neither admin nor the service
   * identity): the request narrowed to that project's data, whatever it
   * asked for. `project` is undefined for a caller scoped to no project.
   * Undefined: the request reaches beyond the project and is refused. It
   * may throw (NOT_FOUND for another project's scope, as for one that does
   * not exist). Absent: the method has no per-project data.
   */
  readonly confine?: (req: Req, project: string | undefined) => Req | undefined;
  /** A change recorded in the audit trail, against what this returns (ids from the request). Absent: not audited. */
  readonly audit?: (req: Req) => string;
}

type Alternative = { kind: "role"; role: string } | { kind: "service" } | { kind: "any" } | { kind: "none" };

export class Rule {
  private constructor(
    readonly source: string,
    private readonly alternatives: readonly Alternative[],
  ) {}

  /** Throws an Error naming the bad alternative. */
  static parse(source: string): Rule {
    const parts = source
      .split(/\s+or\s+/)
      .map((p) => p.trim())
      .filter((p) => p !== "");
    if (parts.length === 0) throw new Error(`rule ${JSON.stringify(source)} is empty (use @ for any authenticated caller, ! for nobody)`);
    const alternatives = parts.map((p): Alternative => {
      if (p === "@") return { kind: "any" };
      if (p === "!") return { kind: "none" };
      if (p === "service") return { kind: "service" };
      const m = /^role:([A-Za-z0-9_.-]+)$/.exec(p);
      if (m !== null) return { kind: "role", role: m[1] as string };
      throw new Error(`rule ${JSON.stringify(source)}: ${JSON.stringify(p)} is not role:<name>, service, @ or !`);
    });
    return new Rule(source, alternatives);
  }

  allows(p: Principal): boolean {
    return this.alternatives.some((a) => {
      switch (a.kind) {
        case "any":
          return p.kind !== "anonymous";
        case "none":
          return false;
        case "service":
          return p.kind === "service";
        default:
          return p.kind === "user" && p.roles.has(a.role);
      }
    });
  }

  /** What a refused caller lacks, in words: "role admin", "role reader or the service identity". */
  describe(): string {
    const words = this.alternatives.map((a) => {
      switch (a.kind) {
        case "any":
          return "an authenticated caller";
        case "none":
          return "nobody (the method is disabled by policy)";
        case "service":
          return "the service identity";
        default:
          return `role ${a.role}`;
      }
    });
    return words.join(" or ");
  }
}

/** Rules by method ("Service/Method") from a YAML or JSON file; every rule parsed. Throws an Error naming the file. */
export function loadPolicyFile(file: string): Map<string, Rule> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`policy file ${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`policy file ${file}: expected a mapping of "Service/Method": rule`);
  const out = new Map<string, Rule>();
  const problems: string[] = [];
  for (const [method, rule] of Object.entries(doc)) {
    if (typeof rule !== "string") {
      problems.push(`${method}: the rule must be a string`);
      continue;
    }
    try {
      out.set(method, Rule.parse(rule));
    } catch (err) {
      problems.push(`${method}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new Error(`policy file ${file}: ${problems.join("; ")}`);
  return out;
}
