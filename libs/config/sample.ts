/**
 * The commented sample configuration: every option of the given services,
 * its type, default and help. An option several services read is declared
 * the same way by each; it is shown once.
 */
import { envName } from "./config.js";
import type { Option } from "./options.js";
import type { Sections, ServiceConfig } from "./schema.js";

/** The sections of several services, in order of first appearance, each option once. */
export function mergeSections(specs: ReadonlyArray<ServiceConfig<Sections>>): Map<string, Map<string, Option<unknown>>> {
  const out = new Map<string, Map<string, Option<unknown>>>();
  for (const spec of specs) {
    for (const [name, section] of Object.entries(spec.sections)) {
      const merged = out.get(name) ?? new Map<string, Option<unknown>>();
      for (const [option, decl] of Object.entries(section)) if (!merged.has(option)) merged.set(option, decl);
      out.set(name, merged);
    }
  }
  return out;
}

/** A commented sample file with every option, its type, default and help. */
export function sampleConfig(specs: ReadonlyArray<ServiceConfig<Sections>>): string {
  const lines: string[] = [
    "# ratemesh configuration. Every option is shown commented out with its default.",
    `# Any option can also be set in the environment: ${envName("section", "option")}=value`,
    "# (for example RATEMESH_STORAGE__URL), which wins over this file.",
    "",
  ];
  for (const [sectionName, all] of mergeSections(specs)) {
    // What is accepted and not used (or refused) is not part of a ratemesh file.
    const section = [...all].filter(([name, option]) => option.disposition === undefined && name !== "*");
    if (section.length === 0) continue;
    lines.push(`[${sectionName}]`, "");
    for (const [name, option] of section) {
      for (const l of wrap(option.help, 76)) lines.push(`# ${l}`);
      const def = option.default === undefined || option.secret ? "(none)" : (option as Option<unknown, true>).show(option.default) || '""';
      lines.push(`# type: ${option.type}; default: ${def}${option.secret ? "; secret" : ""}`);
      lines.push(
        `#${name} = ${option.default === undefined || option.secret ? "" : (option as Option<unknown, true>).show(option.default)}`,
      );
      lines.push("");
    }
  }
  return lines.join("\n");
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") out.push(line);
  return out;
}
