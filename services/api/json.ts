/**
 * JSON with exact decimals. JavaScript numbers are binary doubles: parsing
 * `"cost": 0.1` with JSON.parse, or writing a sum through JSON.stringify,
 * can change a price's digits. So:
 *
 * - reading: a number literal in a money position (the value of a key such
 *   as cost, level, volume, qty or price, and any value inside desc, groupby
 *   or metadata, which are attribute strings) is turned into a JSON string
 *   with its exact digits before JSON.parse sees it;
 * - writing: money CloudKitty shows as a JSON number is a RawNumber, written
 *   as its decimal text, never through a double.
 */

/** Keys whose number values are money or quantities: kept as their exact text. */
const EXACT_KEYS = new Set(["cost", "level", "volume", "qty", "price"]);
/** Objects whose values are attribute strings: numbers in them keep their text too. */
const ATTRIBUTE_KEYS = new Set(["desc", "groupby", "metadata"]);

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, except that number literals in money and attribute positions
 * come back as strings holding the literal's digits. Throws SyntaxError on
 * malformed JSON, as JSON.parse does.
 */
export function parseExactJson(text: string): unknown {
  let out = "";
  let last = 0;
  // The open containers, innermost last, each with the key it is the value of ("" at the top and in arrays).
  const open: Array<{ kind: "{" | "["; key: string }> = [];
  // Inside an object: the key whose value comes next.
  let pendingKey: string | undefined;
  let expectKey = false;
  const insideAttributes = () => open.some((c) => ATTRIBUTE_KEYS.has(c.key));
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (expectKey) {
        try {
          pendingKey = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          pendingKey = "";
        }
        expectKey = false;
      }
      i = j;
      continue;
    }
    if (c === "{" || c === "[") {
      const parent = open[open.length - 1];
      open.push({ kind: c, key: pendingKey ?? (parent?.kind === "[" ? parent.key : "") });
      pendingKey = undefined;
      expectKey = c === "{";
      continue;
    }
    if (c === "}" || c === "]") {
      open.pop();
      pendingKey = undefined;
      continue;
    }
    if (c === ",") {
      expectKey = open[open.length - 1]?.kind === "{";
      pendingKey = undefined;
      continue;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) continue;
      const literal = m[0];
      const key = pendingKey ?? open[open.length - 1]?.key ?? "";
      if (EXACT_KEYS.has(key) || insideAttributes()) {
        out += `${text.slice(last, i)}"${literal}"`;
        last = i + literal.length;
      }
      i += literal.length - 1;
    }
  }
  return JSON.parse(out + text.slice(last));
}

/** A decimal written as a JSON number with exactly these digits. */
export class RawNumber {
  readonly text: string;
  constructor(decimal: string) {
    this.text = canonicalNumber(decimal);
  }
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The JSON number text of a decimal string: "+0012.50" gives "12.50", "" gives "0". */
export function canonicalNumber(decimal: string): string {
  const m = DECIMAL.exec(decimal.trim());
  if (m === null || ((m[2] ?? "") === "" && (m[3] ?? "") === "")) {
    if (decimal.trim() === "") return "0";
    throw new Error(`${JSON.stringify(decimal)} is not a decimal number`);
  }
  const sign = m[1] === "-" ? "-" : "";
  const integer = (m[2] ?? "").replace(/^0+(?=\d)/, "") || "0";
  const fraction = m[3] ?? "";
  const exponent = m[4] === undefined ? "" : `e${m[4]}`;
  return `${sign}${integer}${fraction === "" ? "" : `.${fraction}`}${exponent}`;
}

/** JSON.stringify, with RawNumber values written as their digits. Undefined members are left out. */
export function stringifyExact(value: unknown): string {
  if (value instanceof RawNumber) return value.text;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (value instanceof Date) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : stringifyExact(v))).join(",")}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${stringifyExact(v)}`);
  }
  return `{${parts.join(",")}}`;
}
