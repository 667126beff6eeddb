/**
 * Typed option declarations. Each option parses its raw string once, at
 * start, into the value code uses (durations in seconds, sizes in bytes,
 * lists as arrays); a parse failure is a message, collected with every other
 * problem of the file.
 */

export interface Option<T, Required extends boolean = boolean> {
  /** Shown in the sample config and in errors: "int", "duration", ... */
  readonly type: string;
  readonly help: string;
  readonly default: Required extends true ? T : T | undefined;
  /** Never printed back (logs, sample config, errors). */
  readonly secret: boolean;
  readonly choices?: readonly string[];
  /** Throws an Error whose message says what is wrong with the raw value. */
  parse(raw: string): T;
  /** The raw form of a value, for the sample config. */
  show(value: T): string;
  /** How it was declared (the constructor's name and its spec), so that a tool can declare it again elsewhere. */
  readonly declaration: { readonly kind: string; readonly spec: object };
  /** Values that cannot be honoured, each with what to use instead: an error, whatever the type says. */
  readonly refusals?: Readonly<Record<string, string>>;
  /**
   * How a value set in the file is taken, when not simply read: "tolerated"
   * (accepted and not used, with one warning that gives `help` as the
   * reason), "retired" (any value is an error whose message is `help`: what
   * to use instead).
   */
  readonly disposition?: "tolerated" | "retired";
  /**
   * A section reference (sectionRef): these options of the section that
   * declares it are read from the section its value names.
   */
  readonly takes?: readonly string[];
}

export type OptionValue<O> = O extends Option<infer T, true> ? T : O extends Option<infer T, false> ? T | undefined : never;

interface Common {
  help: string;
  secret?: boolean;
  /** Values refused, each with the message saying what to use instead. */
  refusals?: Readonly<Record<string, string>>;
}

function declare<O extends Option<unknown, boolean>>(kind: string, spec: object, option: Omit<O, "declaration">): O {
  return { ...option, declaration: { kind, spec } } as O;
}

function make<T>(
  type: string,
  spec: Common & { default?: T; choices?: readonly string[] },
  parse: (raw: string) => T,
  show: (v: T) => string,
): Omit<Option<T, boolean>, "declaration"> {
  const opt: Omit<Option<T, boolean>, "declaration"> = {
    type,
    help: spec.help,
    default: spec.default,
    secret: spec.secret ?? false,
    parse,
    show,
    ...(spec.refusals !== undefined && { refusals: spec.refusals }),
  };
  return spec.choices === undefined ? opt : { ...opt, choices: spec.choices };
}

export function str(spec: Common & { default: string }): Option<string, true>;
export function str(spec: Common): Option<string, false>;
export function str(spec: Common & { default?: string }): Option<string, boolean> {
  return declare(
    "str",
    spec,
    make(
      "string",
      spec,
      (raw) => raw,
      (v) => v,
    ),
  );
}

export function oneOf<const C extends readonly string[]>(spec: Common & { choices: C; default: C[number] }): Option<C[number], true>;
export function oneOf<const C extends readonly string[]>(spec: Common & { choices: C }): Option<C[number], false>;
export function oneOf<const C extends readonly string[]>(spec: Common & { choices: C; default?: C[number] }): Option<C[number], boolean> {
  return declare(
    "oneOf",
    spec,
    make(
      `one of ${spec.choices.join(", ")}`,
      spec,
      (raw) => {
        if (!spec.choices.includes(raw)) {
          throw new Error(`${JSON.stringify(raw)} is not one of ${spec.choices.join(", ")}`);
        }
        return raw as C[number];
      },
      (v) => v,
    ),
  );
}

interface IntSpec extends Common {
  min?: number;
  max?: number;
}

function parseInteger(raw: string, spec: IntSpec): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new Error(`${JSON.stringify(raw)} is not an integer`);
  const n = Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(n)) throw new Error(`${raw} is too large`);
  if (spec.min !== undefined && n < spec.min) throw new Error(`${n} is below the minimum ${spec.min}`);
  if (spec.max !== undefined && n > spec.max) throw new Error(`${n} is above the maximum ${spec.max}`);
  return n;
}

function bounds(spec: IntSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` ${spec.min}..${spec.max}`;
  if (spec.min !== undefined) return ` >= ${spec.min}`;
  if (spec.max !== undefined) return ` <= ${spec.max}`;
  return "";
}

export function int(spec: IntSpec & { default: number }): Option<number, true>;
export function int(spec: IntSpec): Option<number, false>;
export function int(spec: IntSpec & { default?: number }): Option<number, boolean> {
  return declare(
    "int",
    spec,
    make(`int${bounds(spec)}`, spec, (raw) => parseInteger(raw, spec), String),
  );
}

export function bool(spec: Common & { default: boolean }): Option<boolean, true> {
  return declare(
    "bool",
    spec,
    make(
      "bool",
      spec,
      (raw) => {
        const v = raw.toLowerCase();
        if (["true", "yes", "on", "1"].includes(v)) return true;
        if (["false", "no", "off", "0"].includes(v)) return false;
        throw new Error(`${JSON.stringify(raw)} is not a boolean (true or false)`);
      },
      String,
    ),
  ) as Option<boolean, true>;
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in seconds: "30", "30s", "500ms", "5m", "1h", "1d". */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw);
  if (m === null) throw new Error(`${JSON.stringify(raw)} is not a duration (e.g. 30, 30s, 500ms, 5m, 1h)`);
  return Number(m[1]) * (DURATION_UNITS[m[2] ?? "s"] ?? 1);
}

interface DurationSpec extends Common {
  min?: number;
  max?: number;
}

function checkRange(value: number, spec: DurationSpec, unit: string): number {
  if (spec.min !== undefined && value < spec.min) throw new Error(`${value}${unit} is below the minimum ${spec.min}${unit}`);
  if (spec.max !== undefined && value > spec.max) throw new Error(`${value}${unit} is above the maximum ${spec.max}${unit}`);
  return value;
}

/** Seconds. */
export function duration(spec: DurationSpec & { default: number }): Option<number, true>;
export function duration(spec: DurationSpec): Option<number, false>;
export function duration(spec: DurationSpec & { default?: number }): Option<number, boolean> {
  return declare(
    "duration",
    spec,
    make(
      "duration (seconds, or with a unit: ms, s, m, h, d)",
      spec,
      (raw) => checkRange(parseDuration(raw), spec, "s"),
      (v) => `${v}s`,
    ),
  );
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Bytes: "65536", "64KiB", "16MiB", "1GB". */
export function bytes(spec: DurationSpec & { default: number }): Option<number, true> {
  return declare(
    "bytes",
    spec,
    make(
      "size (bytes, or with a unit: KiB, MiB, GiB, KB, MB, GB)",
      spec,
      (raw) => {
        const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(raw);
        const unit = SIZE_UNITS[(m?.[2] ?? "").toLowerCase()];
        if (m === null || unit === undefined) throw new Error(`${JSON.stringify(raw)} is not a size (e.g. 65536, 64KiB, 16MiB)`);
        return checkRange(Number(m[1]) * unit, spec, " bytes");
      },
      (v) => (v % 1024 ** 2 === 0 ? `${v / 1024 ** 2}MiB` : String(v)),
    ),
  ) as Option<number, true>;
}

/** Comma separated (or one per continuation line); empty items are dropped. */
export function list(spec: Common & { default: string[] }): Option<string[], true> {
  return declare(
    "list",
    spec,
    make(
      "list (comma separated)",
      spec,
      (raw) =>
        raw
          .split(/[,\n]/)
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      (v) => v.join(", "),
    ),
  ) as Option<string[], true>;
}

export interface HostPort {
  host: string;
  port: number;
}

function parseHostPort(raw: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new Error(`${JSON.stringify(raw)} is not host:port (e.g. 127.0.0.1:9631)`);
  return { host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port };
}

export function showHostPort(v: HostPort): string {
  return v.host.includes(":") ? `[${v.host}]:${v.port}` : `${v.host}:${v.port}`;
}

/** host:port; port 0 picks a free port (listen addresses only). */
export function hostPort(spec: Common & { default: string }): Option<HostPort, true>;
export function hostPort(spec: Common): Option<HostPort, false>;
export function hostPort(spec: Common & { default?: string }): Option<HostPort, boolean> {
  const { default: def, ...rest } = spec;
  return declare(
    "hostPort",
    spec,
    make("host:port", def === undefined ? rest : { ...rest, default: parseHostPort(def) }, parseHostPort, showHostPort),
  );
}

/** host:port, or "off" (also empty) for nothing to listen on: undefined. Port 0 picks a free port. */
export function listenOrOff(spec: Common & { default: string }): Option<HostPort | undefined, true> {
  const parse = (raw: string) => (raw === "" || raw.toLowerCase() === "off" ? undefined : parseHostPort(raw));
  return declare(
    "listenOrOff",
    spec,
    make<HostPort | undefined>("host:port or off", { ...spec, default: parse(spec.default) }, parse, (v) =>
      v === undefined ? "off" : showHostPort(v),
    ),
  ) as Option<HostPort | undefined, true>;
}

/** A number from 0 to 1: "0.25", "1". */
export function fraction(spec: Common & { default: number }): Option<number, true> {
  return declare(
    "fraction",
    spec,
    make(
      "number from 0 to 1",
      spec,
      (raw) => {
        const v = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
        if (!(v >= 0 && v <= 1)) throw new Error(`${JSON.stringify(raw)} is not a number from 0 to 1`);
        return v;
      },
      String,
    ),
  ) as Option<number, true>;
}

/** An RFC 3339 timestamp with a time zone: 2026-01-01T00:00:00Z. */
export function timestamp(spec: Common): Option<Date, false> {
  return declare(
    "timestamp",
    spec,
    make(
      "timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z)",
      spec,
      (raw) => {
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
          throw new Error(`${JSON.stringify(raw)} is not an RFC 3339 timestamp with a zone (e.g. 2026-01-01T00:00:00Z)`);
        }
        const d = new Date(raw);
        if (Number.isNaN(d.getTime())) throw new Error(`${JSON.stringify(raw)} is not a valid date`);
        return d;
      },
      (v) => v.toISOString(),
    ),
  ) as Option<Date, false>;
}

/**
 * An option (or, named "*", any option of its section) that is accepted
 * and not used: the file stays valid, and the loader returns one warning
 * per section and reason. `help` is the reason, shown in the warning.
 */
export function tolerated(spec: Common): Option<undefined, false> {
  return disposed("tolerated", spec);
}

/** An option that cannot be honoured whatever its value: setting it is an error whose message is `help`, what to use instead. */
export function retired(spec: Common): Option<undefined, false> {
  return disposed("retired", spec);
}

/** An option with no value: the loader warns about it (tolerated) or refuses it (retired). */
function disposed(disposition: "tolerated" | "retired", spec: Common): Option<undefined, false> {
  const type = disposition === "tolerated" ? "ignored" : "refused";
  const option = make<undefined>(
    type,
    spec,
    () => undefined,
    () => "",
  );
  return { ...declare<Option<undefined, false>>(disposition, spec, option), disposition };
}

/**
 * The name of another section of the file from which the options `takes`
 * of the declaring section are read, as if set there (oslo.config's
 * `auth_section` pattern). The named section's other options are reported
 * as not read, once.
 */
export function sectionRef(spec: Common & { takes: readonly string[] }): Option<string, false> {
  return {
    ...declare<Option<string, false>>(
      "sectionRef",
      spec,
      make(
        "section name",
        spec,
        (raw) => {
          if (!/^[^[\]\s]+$/.test(raw)) throw new Error(`${JSON.stringify(raw)} is not a section name`);
          return raw;
        },
        (v) => v,
      ),
    ),
    takes: spec.takes,
  };
}
