/** Array parameters: a list travels as one `$n::type[]` parameter, however long it is. */
import type { Param } from "../engine/dialect.js";

/** An array literal; text is quoted, numbers and validated decimals need not be. */
export function arrayLiteral(values: readonly Param[], quote: boolean): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else if (!quote) out += String(v);
    else {
      const s = String(v);
      out += `"${/["\\]/.test(s) ? s.replace(/["\\]/g, "\\$&") : s}"`;
    }
  }
  return `${out}}`;
}
