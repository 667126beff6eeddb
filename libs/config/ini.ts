/**
 * INI reader in the dialect of oslo.config (cloudkitty.conf): `[section]`
 * headers, `key = value` (or `key: value`), comments on their own line
 * starting with `#` or `;`, continuation lines indented under a value, and a
 * `[DEFAULT]` section. Every entry keeps its line number so that a problem is
 * reported as file:line [section] option.
 *
 * Written here rather than taken from the `ini` package because that one
 * turns "true" into a boolean, nests dotted section names and forgets line
 * numbers, three things a config validator must not do.
 */

export interface IniEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

export interface IniSyntaxProblem {
  line: number;
  message: string;
}

export function parseIni(text: string): { entries: IniEntry[]; problems: IniSyntaxProblem[] } {
  const entries: IniEntry[] = [];
  const problems: IniSyntaxProblem[] = [];
  let section: string | undefined;
  let last: IniEntry | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "") {
      last = undefined;
      continue;
    }
    if (trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    if (/^\s/.test(raw) && last !== undefined) {
      // Continuation of the previous value.
      last.value = last.value === "" ? trimmed : `${last.value}\n${trimmed}`;
      continue;
    }
    if (trimmed.startsWith("[")) {
      const m = /^\[([^\]]+)\]$/.exec(trimmed);
      if (m === null || (m[1] ?? "").trim() === "") {
        problems.push({ line: lineNo, message: `malformed section header ${JSON.stringify(trimmed)}` });
        section = undefined;
      } else {
        section = (m[1] ?? "").trim();
      }
      last = undefined;
      continue;
    }
    const sep = /[=:]/.exec(trimmed);
    if (sep === null) {
      problems.push({ line: lineNo, message: `expected "option = value", got ${JSON.stringify(trimmed)}` });
      last = undefined;
      continue;
    }
    const key = trimmed.slice(0, sep.index).trim();
    let value = trimmed.slice(sep.index + 1).trim();
    if (key === "") {
      problems.push({ line: lineNo, message: "an option name is missing before the '='" });
      last = undefined;
      continue;
    }
    if (section === undefined) {
      problems.push({ line: lineNo, message: `option ${JSON.stringify(key)} is outside of any [section]` });
      last = undefined;
      continue;
    }
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    last = { section, key, value, line: lineNo };
    entries.push(last);
  }
  return { entries, problems };
}
