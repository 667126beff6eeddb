/**
 * CEL for price rules: the environment (variables and decimal functions),
 * compilation with checks that bound what a rule can cost, and evaluation
 * against one point. See README.md in this folder for the language a rule
 * author sees.
 *
 * Why this is safe to run on every point:
 * - CEL has no I/O, no loops, no recursion, and this environment registers
 *   only pure functions (CEL's standard library and the decimal helpers
 *   below); an unknown function is refused at compile time.
 * - The only iteration is the comprehension macros (all, exists, exists_one,
 *   map, filter) over a list literal or a point's attribute maps. A rule may
 *   not nest them and has at most MAX_NODES nodes, so one evaluation costs at
 *   most MAX_NODES × (size of the point's attributes) steps. Regular
 *   expressions run on RE2 (linear time).
 * - The rules module also bounds the wall time a frame may spend in rules.
 *
 * Money stays exact: CEL's double is refused (no double literal, no
 * double()), prices and quantities are decimal strings, and arithmetic on
 * them goes through the decimal.* functions (BigInt decimals).
 */
import { CelScalar, celEnv, celFunc, celMap, isCelError, isCelUint, mapType, objectType, parse, plan } from "@bufbuild/cel";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Decimal, DecimalSyntaxError, PYTHON_CONTEXT, type Rounding } from "../../../../libs/money/decimal.js";
import type { RatingPoint } from "../../domain.js";

/** Most nodes an expression may have. */
export const MAX_NODES = 400;
/** Longest expression text, in characters. */
export const MAX_SOURCE = 4096;

type Expr = ReturnType<typeof parse>["expr"];

/** What a rule sees of a point: its data, and the frame's. */
export interface RuleInput extends Pick<RatingPoint, "type" | "unit" | "qty" | "price" | "groupby" | "metadata"> {
  /** The period start (Rate) or the quote's instant. */
  begin: Date;
  scopeId: string;
}

export class CelCompileError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    problem: string,
  ) {
    super(`line ${line}, column ${column}: ${problem}`);
    this.name = "CelCompileError";
  }
}

/** A rule failed on a point: a runtime error, or a result of the wrong kind. */
export class CelEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CelEvalError";
  }
}

const ROUNDINGS: Record<string, Rounding> = {
  half_even: "half_even",
  half_up: "half_up",
  half_down: "half_down",
  down: "down",
  up: "up",
  floor: "floor",
  ceiling: "ceiling",
};

/** A decimal argument: a plain decimal string or a CEL int. A double is refused: it is not exact. */
function dec(v: unknown, fn: string): Decimal {
  if (typeof v === "string") {
    try {
      return Decimal.parse(v);
    } catch (err) {
      if (err instanceof DecimalSyntaxError) throw new Error(`${fn}: ${JSON.stringify(v)} is not a decimal string`);
      throw err;
    }
  }
  if (typeof v === "bigint") return Decimal.of(v);
  if (isCelUint(v)) return Decimal.of(v.value);
  if (typeof v === "number") throw new Error(`${fn}: a double (${v}) is not exact; write the value as a decimal string, e.g. '0.5'`);
  throw new Error(`${fn}: expects a decimal string or an int`);
}

const { DYN, INT, STRING, BOOL } = CelScalar;

function binary(name: string, op: (a: Decimal, b: Decimal) => Decimal) {
  return celFunc(`decimal.${name}`, [DYN, DYN], STRING, (a, b) => op(dec(a, `decimal.${name}`), dec(b, `decimal.${name}`)).toString());
}

function compare(name: string, test: (c: number) => boolean) {
  return celFunc(`decimal.${name}`, [DYN, DYN], BOOL, (a, b) => test(dec(a, `decimal.${name}`).cmp(dec(b, `decimal.${name}`))));
}

function round(x: unknown, places: bigint, mode: string): string {
  const rounding = ROUNDINGS[mode];
  if (rounding === undefined)
    throw new Error(`decimal.round: unknown rounding ${JSON.stringify(mode)} (one of ${Object.keys(ROUNDINGS).join(", ")})`);
  if (places < -28n || places > 28n) throw new Error("decimal.round: places must be between -28 and 28");
  const d = dec(x, "decimal.round");
  const p = Number(places);
  if (p >= 0) return d.quantize(p, rounding).toString();
  // Negative places round to tens, hundreds...: divide by 10^-p, round, multiply back.
  const shifted = Decimal.of(d.coef, d.exp + p).quantize(0, rounding);
  return Decimal.of(shifted.coef, shifted.exp - p)
    .quantize(0)
    .toString();
}

/** The decimal helpers a rule may call; all pure. */
export const DECIMAL_FUNCS = [
  binary("add", (a, b) => a.add(b)),
  binary("sub", (a, b) => a.sub(b)),
  binary("mul", (a, b) => a.mul(b)),
  binary("div", (a, b) => {
    if (b.isZero()) throw new Error("decimal.div: division by zero");
    return PYTHON_CONTEXT.div(a, b);
  }),
  binary("min", (a, b) => (b.lt(a) ? b : a)),
  binary("max", (a, b) => (b.gt(a) ? b : a)),
  celFunc("decimal.neg", [DYN], STRING, (a) => dec(a, "decimal.neg").neg().toString()),
  celFunc("decimal.abs", [DYN], STRING, (a) => dec(a, "decimal.abs").abs().toString()),
  celFunc("decimal.round", [DYN, INT], STRING, (a, p) => round(a, p, "half_even")),
  celFunc("decimal.round", [DYN, INT, STRING], STRING, (a, p, m) => round(a, p, m)),
  celFunc("decimal.cmp", [DYN, DYN], INT, (a, b) => BigInt(dec(a, "decimal.cmp").cmp(dec(b, "decimal.cmp")))),
  compare("eq", (c) => c === 0),
  compare("lt", (c) => c < 0),
  compare("le", (c) => c <= 0),
  compare("gt", (c) => c > 0),
  compare("ge", (c) => c >= 0),
  celFunc("decimal.valid", [DYN], BOOL, (a) => typeof a === "string" && Decimal.isValid(a)),
];

const STRING_MAP = mapType(STRING, STRING);

export const VARIABLES = {
  type: STRING,
  unit: STRING,
  qty: STRING,
  price: STRING,
  groupby: STRING_MAP,
  metadata: STRING_MAP,
  desc: STRING_MAP,
  begin: objectType(TimestampSchema),
  scope_id: STRING,
} as const;

const ENV = celEnv({ variables: VARIABLES, funcs: DECIMAL_FUNCS });

/** Functions the planner implements itself rather than through the function registry. */
const BUILTIN = new Set(["_&&_", "_||_", "_?_:_", "@not_strictly_false", "_[_]"]);
/** Registered, but not exact. */
const REFUSED = new Map([["double", "double() is not exact; use decimal strings and the decimal.* functions"]]);

function knownFunction(name: string): boolean {
  return BUILTIN.has(name) || ENV.funcs.find(name) !== undefined;
}

function lineColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

export interface CompiledExpr {
  source: string;
  run(input: Bindings): unknown;
}

export type Bindings = Record<string, unknown>;

/**
 * Parses and checks one expression. Throws CelCompileError with the line and
 * column of the first problem.
 */
export function compileCel(source: string): CompiledExpr {
  if (source.length > MAX_SOURCE) throw new CelCompileError(1, 1, `is ${source.length} characters long; at most ${MAX_SOURCE}`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    const e = err as { location?: { start?: { line?: number; column?: number } }; rawMessage?: string; message?: string };
    const at = e.location?.start;
    throw new CelCompileError(at?.line ?? 1, at?.column ?? 1, `syntax error: ${e.rawMessage ?? e.message ?? String(err)}`);
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const fail = (node: Expr, problem: string): never => {
    const { line, column } = lineColumn(source, positions[String(node.id)] ?? 0);
    throw new CelCompileError(line, column, problem);
  };
  let nodes = 0;
  const walk = (node: Expr | undefined, bound: ReadonlySet<string>, depth: number): void => {
    if (node === undefined) return;
    if (++nodes > MAX_NODES) fail(node, `has more than ${MAX_NODES} nodes; split the rule`);
    const k = node.exprKind;
    switch (k.case) {
      case "constExpr":
        if (k.value.constantKind.case === "doubleValue") {
          fail(
            node,
            `the double ${k.value.constantKind.value} is not exact; write it as a decimal string, e.g. '${k.value.constantKind.value}'`,
          );
        }
        return;
      case "identExpr":
        if (!(k.value.name in VARIABLES) && !bound.has(k.value.name)) {
          fail(node, `unknown variable ${k.value.name} (variables: ${Object.keys(VARIABLES).join(", ")})`);
        }
        return;
      case "selectExpr":
        walk(k.value.operand, bound, depth);
        return;
      case "callExpr": {
        let name = k.value.function;
        let target = k.value.target;
        // `decimal.add(a, b)` parses as the method add on an identifier decimal: a namespaced function.
        const ns = target?.exprKind.case === "identExpr" ? target.exprKind.value.name : undefined;
        if (ns !== undefined && !(ns in VARIABLES) && !bound.has(ns) && knownFunction(`${ns}.${name}`)) {
          name = `${ns}.${name}`;
          target = undefined;
        }
        const refused = REFUSED.get(name);
        if (refused !== undefined) fail(node, refused);
        if (!knownFunction(name)) fail(node, `unknown function ${name}`);
        walk(target, bound, depth);
        for (const a of k.value.args) walk(a, bound, depth);
        return;
      }
      case "listExpr":
        for (const e of k.value.elements) walk(e, bound, depth);
        return;
      case "structExpr":
        for (const e of k.value.entries) {
          if (e.keyKind.case === "mapKey") walk(e.keyKind.value, bound, depth);
          walk(e.value, bound, depth);
        }
        return;
      case "comprehensionExpr": {
        const c = k.value;
        if (depth >= 1) fail(node, "comprehensions (all, exists, map, filter...) cannot be nested");
        walk(c.iterRange, bound, depth);
        walk(c.accuInit, bound, depth);
        const inner = new Set(bound);
        for (const v of [c.iterVar, c.iterVar2, c.accuVar]) if (v !== "") inner.add(v);
        walk(c.loopCondition, inner, depth + 1);
        walk(c.loopStep, inner, depth + 1);
        walk(c.result, inner, depth + 1);
        return;
      }
      default:
        fail(node, "unsupported expression");
    }
  };
  walk(parsed.expr, new Set(), 0);
  const program = plan(ENV, parsed);
  return { source, run: (bindings) => program(bindings as never) };
}

function stringMap(o: Record<string, string>) {
  return celMap(new Map(Object.entries(o)));
}

/**
 * The CEL bindings of a point. Maps are bound as CelMaps over JS Maps: a
 * plain object is converted again on every access, which makes a lookup
 * inside a comprehension cost the size of the map.
 */
export function bindings(input: RuleInput): Bindings {
  // desc as hashmap fields see it: metadata overridden by groupby.
  const desc = { ...input.metadata, ...input.groupby };
  return {
    type: input.type,
    unit: input.unit,
    qty: input.qty,
    price: input.price,
    groupby: stringMap(input.groupby),
    metadata: stringMap(input.metadata),
    desc: stringMap(desc),
    begin: timestampFromDate(input.begin),
    scope_id: input.scopeId,
  };
}

/** Runs a condition: true or false, or a CelEvalError. */
export function evalCondition(expr: CompiledExpr, b: Bindings): boolean {
  const r = expr.run(b);
  if (isCelError(r)) throw new CelEvalError(`condition failed: ${r.message}`);
  if (typeof r !== "boolean") throw new CelEvalError(`condition gave ${describe(r)}, not a bool`);
  return r;
}

/** Runs a price expression: the new price as a plain decimal string, or a CelEvalError. */
export function evalPrice(expr: CompiledExpr, b: Bindings): string {
  const r = expr.run(b);
  if (isCelError(r)) throw new CelEvalError(`expression failed: ${r.message}`);
  if (typeof r === "string") {
    if (!Decimal.isValid(r)) throw new CelEvalError(`expression gave ${JSON.stringify(r)}, which is not a decimal string`);
    return Decimal.parse(r).toString();
  }
  if (typeof r === "bigint") return r.toString();
  if (isCelUint(r)) return r.value.toString();
  if (typeof r === "number") throw new CelEvalError(`expression gave the double ${r}, which is not exact; return a decimal string`);
  throw new CelEvalError(`expression gave ${describe(r)}, not a decimal string or an int`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "object") return "a list, map or message";
  return `${typeof v} ${String(v)}`;
}
