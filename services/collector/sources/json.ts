/**
 * JSON whose numbers are kept as their text. A quantity must never pass
 * through a JS number on its way to a Decimal: "0.1" stays "0.1", and an
 * integer above 2^53 keeps every digit. Node 20's JSON.parse cannot give a
 * reviver the source text, so the numbers are quoted before parsing: one
 * regex pass that copies strings as they are and wraps every number token
 * outside them in quotes (JSON numbers never touch letters outside strings,
 * so the match is exact). Every number in the result is a string.
 */

const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

export function parseJsonNumbersAsText(text: string): unknown {
  return JSON.parse(text.replace(TOKEN, (m) => (m.charCodeAt(0) === 34 ? m : `"${m}"`)));
}

/**
 * An attribute value as a string map value: strings as they are, numbers
 * as their JSON text, null as "", booleans as "true"/"false", anything
 * else as JSON.
 */
export function attributeText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "true" : "false";
  return JSON.stringify(v);
}
