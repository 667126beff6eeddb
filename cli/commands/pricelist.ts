/**
 * `ratemesh pricelist`: versioned price lists. A draft holds a whole price
 * list (the hashmap as the YAML document of `hashmap export`, and the CEL
 * rules); it is diffed against what is in force and published from an
 * effective date, when it becomes a version that is kept with who published
 * it. See services/rating/README.md, "Versioned price lists".
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import {
  type PriceListChange,
  PriceListChangeType,
  type PriceListContent,
  PriceListDraft,
  PriceListVersion,
} from "../../libs/gen/ratemesh/v1/pricelist.js";
import { action, type Context } from "../context.js";
import { iso } from "../dates.js";
import { subcommand } from "../declare.js";
import { CliError } from "../errors.js";
import { dateOption, formatOption, parseIntArg } from "../options.js";
import { type Format, renderMessages } from "../output.js";
import { parsePriceList, renderPriceList } from "../pricelist/document.js";
import { contentOf, documentOf } from "../pricelist/draft.js";

/** `-f, --format`: yaml (the price-list document) or json (the message). */
const yamlFormat = () => new Option("-f, --format <format>", "output format").choices(["yaml", "json"]).default("yaml");

const DRAFT_ARG = ["<name>", "the draft's name"] as const;

function readDocument(file: string, rules: PriceListContent["rules"]): PriceListContent {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError("usage", `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return contentOf(parsePriceList(text, file), rules, file);
}

/** A price list as text: the hashmap as the YAML document, then the CEL rules, one per line. */
function renderContent(c: PriceListContent | undefined): string {
  const content = c ?? { groups: [], services: [], rules: [] };
  const rules = content.rules.map(
    (r) =>
      `#   ${r.name} (order ${r.order}${r.tenant === "" ? "" : `, tenant ${r.tenant}`}): ${r.condition === "" ? "" : `when ${r.condition}: `}${r.expression}\n`,
  );
  return renderPriceList(documentOf(content)) + (rules.length === 0 ? "" : `# CEL rules (kept by draft update --file):\n${rules.join("")}`);
}

const SIGN: Record<PriceListChangeType, string> = {
  [PriceListChangeType.PRICE_LIST_CHANGE_TYPE_ADDED]: "+",
  [PriceListChangeType.PRICE_LIST_CHANGE_TYPE_REMOVED]: "-",
  [PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED]: "~",
  [PriceListChangeType.PRICE_LIST_CHANGE_TYPE_UNSPECIFIED]: "?",
  [PriceListChangeType.UNRECOGNIZED]: "?",
};

function renderChanges(changes: PriceListChange[]): string {
  if (changes.length === 0) return "no changes: the draft equals the price list in force\n";
  return changes
    .map((c) => {
      const what = c.change === PriceListChangeType.PRICE_LIST_CHANGE_TYPE_CHANGED ? `${c.old} -> ${c.new}` : c.new || c.old;
      return `${SIGN[c.change]} ${c.kind} ${c.key}: ${what}\n`;
    })
    .join("");
}

const DRAFT_COLUMNS = [{ key: "name" }, { key: "created_by" }, { key: "created" }, { key: "updated" }];
const VERSION_COLUMNS = [
  { key: "version", right: true },
  { key: "effective" },
  { key: "published" },
  { key: "published_by" },
  { key: "draft" },
  { key: "changes" },
];

async function showDraft(ctx: Context, format: "yaml" | "json", draft: PriceListDraft | undefined): Promise<void> {
  if (draft === undefined) return;
  await ctx.write(format === "json" ? `${JSON.stringify(PriceListDraft.toJSON(draft), null, 2)}\n` : renderContent(draft.content));
}

async function createDraft(ctx: Context, o: { file?: string; format: "yaml" | "json" }, name: string): Promise<void> {
  // A copy of what is in force; a file replaces its hashmap part (the CEL rules in force are kept).
  let { draft } = await ctx.priceLists.createDraft({ name, content: undefined });
  if (o.file !== undefined) {
    try {
      draft = (await ctx.priceLists.updateDraft({ name, content: readDocument(o.file, draft?.content?.rules ?? []) })).draft;
    } catch (err) {
      await ctx.priceLists.deleteDraft({ name });
      throw err;
    }
  }
  await ctx.write(`draft ${name} created${o.file === undefined ? " from the price list in force" : ` from ${o.file}`}\n`);
  if (o.format === "json") await showDraft(ctx, o.format, draft);
}

async function updateDraft(ctx: Context, o: { file: string }, name: string): Promise<void> {
  const current = (await ctx.priceLists.getDraft({ name })).draft;
  await ctx.priceLists.updateDraft({ name, content: readDocument(o.file, current?.content?.rules ?? []) });
  await ctx.write(`draft ${name} updated from ${o.file}\n`);
}

async function publish(ctx: Context, o: { effective?: Date; force?: boolean; format: "table" | "json" }, name: string): Promise<void> {
  if (o.effective === undefined) throw new CliError("usage", "give --effective DATE (now for at once)");
  const { version } = await ctx.priceLists.publishDraft({ name, effective: o.effective, force: o.force === true });
  if (version === undefined) return;
  if (o.format === "json") {
    await ctx.write(`${JSON.stringify(PriceListVersion.toJSON(version), null, 2)}\n`);
    return;
  }
  await ctx.write(
    `${renderChanges(version.changes)}published draft ${name} as version ${version.number}, effective ${iso(version.effective)} (${version.summary})\n`,
  );
}

async function history(ctx: Context, o: { format: Format; limit?: number }): Promise<void> {
  const versions: PriceListVersion[] = [];
  let pageToken = "";
  do {
    const res = await ctx.priceLists.listVersions({ pageSize: 0, pageToken });
    versions.push(...res.versions);
    pageToken = res.nextPageToken;
  } while (pageToken !== "" && (o.limit === undefined || versions.length < o.limit));
  const shown = o.limit === undefined ? versions : versions.slice(0, o.limit);
  await ctx.write(
    renderMessages(
      o.format,
      shown,
      (v) => PriceListVersion.toJSON(v),
      VERSION_COLUMNS,
      (vs) =>
        vs.map((v) => ({
          version: v.number,
          effective: iso(v.effective),
          published: iso(v.publishedAt),
          published_by: v.publishedBy,
          draft: v.draft,
          changes: v.summary,
        })),
    ),
  );
}

export function register(program: Command): void {
  const pricelist = subcommand(
    program,
    "pricelist",
    "Versioned price lists: stage changes in a draft, diff it, publish it from a date; every version is kept",
    "ratemesh pricelist draft create spring",
    "ratemesh pricelist diff spring",
    "ratemesh pricelist publish spring --effective 2027-03-01",
    "ratemesh pricelist history",
  );
  const draft = subcommand(
    pricelist,
    "draft",
    "Drafts: a whole price list (hashmap and CEL rules) staged before it is published",
    "ratemesh pricelist draft create spring",
    "ratemesh pricelist draft show spring > spring.yaml",
    "ratemesh pricelist draft update spring --file spring.yaml",
  );
  subcommand(
    draft,
    "create",
    "Create a draft: a copy of the price list in force now, or with --file the hashmap of a YAML price list (as hashmap export writes it, without start or end dates) and the CEL rules in force",
    "ratemesh pricelist draft create spring",
    "ratemesh pricelist draft create spring --file spring.yaml",
  )
    .argument(...DRAFT_ARG)
    .option("--file <file>", "a YAML price list for the draft's hashmap part")
    .addOption(yamlFormat())
    .action(action(createDraft));
  subcommand(
    draft,
    "update",
    "Replace a draft's hashmap part with a YAML price list (its CEL rules are kept)",
    "ratemesh pricelist draft update spring --file spring.yaml",
  )
    .argument(...DRAFT_ARG)
    .requiredOption("--file <file>", "a YAML price list, as draft show writes it")
    .action(action(updateDraft));
  subcommand(
    draft,
    "show",
    "Print a draft: its hashmap as a YAML price list (what draft update --file reads), then its CEL rules",
    "ratemesh pricelist draft show spring",
    "ratemesh pricelist draft show spring -f json",
  )
    .argument(...DRAFT_ARG)
    .addOption(yamlFormat())
    .action(
      action(async (ctx, o: { format: "yaml" | "json" }, name: string) =>
        showDraft(ctx, o.format, (await ctx.priceLists.getDraft({ name })).draft),
      ),
    );
  subcommand(draft, "list", "List the drafts", "ratemesh pricelist draft list")
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { format: Format }) => {
        const { drafts } = await ctx.priceLists.listDrafts({});
        await ctx.write(
          renderMessages(
            o.format,
            drafts,
            (d) => PriceListDraft.toJSON(d),
            DRAFT_COLUMNS,
            (ds) => ds.map((d) => ({ name: d.name, created_by: d.createdBy, created: iso(d.createdAt), updated: iso(d.updatedAt) })),
          ),
        );
      }),
    );
  subcommand(draft, "delete", "Delete a draft", "ratemesh pricelist draft delete spring")
    .argument(...DRAFT_ARG)
    .action(
      action(async (ctx, _o: object, name: string) => {
        await ctx.priceLists.deleteDraft({ name });
        await ctx.write(`draft ${name} deleted\n`);
      }),
    );

  subcommand(
    pricelist,
    "diff",
    "What publishing a draft would change, row by row (+ added, - removed, ~ changed: old -> new)",
    "ratemesh pricelist diff spring",
    "ratemesh pricelist diff spring --at 2027-03-01",
  )
    .argument(...DRAFT_ARG)
    .addOption(dateOption("--at <when>", "compare with the price list in force at this instant (default: now)"))
    .addOption(formatOption(["table", "json"]))
    .action(
      action(async (ctx, o: { at?: Date; format: "table" | "json" }, name: string) => {
        const res = await ctx.priceLists.diffDraft({ name, at: o.at });
        await ctx.write(o.format === "json" ? `${JSON.stringify(res.changes, null, 2)}\n` : renderChanges(res.changes));
      }),
    );

  subcommand(
    pricelist,
    "publish",
    "Publish a draft: from the effective date on it is the price list (periods before keep their prices); the draft becomes a version and is deleted",
    "ratemesh pricelist publish spring --effective 2027-03-01",
    "ratemesh pricelist publish fix --effective 2026-11-01 --force",
  )
    .argument(...DRAFT_ARG)
    .addOption(
      dateOption("--effective <when>", "the instant the price list applies from (periods starting then or later); now for at once"),
    )
    .option("--force", "allow an effective date in the past (periods already rated change price when re-rated)")
    .addOption(formatOption(["table", "json"]))
    .action(action(publish));

  subcommand(pricelist, "history", "The published versions, newest first, with who published them", "ratemesh pricelist history")
    .option("--limit <n>", "only the newest n versions", parseIntArg)
    .addOption(formatOption())
    .action(action(history));

  subcommand(
    pricelist,
    "version",
    "Print a published version whole, as draft show prints a draft (-o: to a file, e.g. to start a draft from it)",
    "ratemesh pricelist version 3",
    "ratemesh pricelist version 3 -o v3.yaml",
  )
    .argument("<number>", "the version number", parseIntArg)
    .option("-o, --output <file>", "write to this file instead of stdout")
    .addOption(yamlFormat())
    .action(
      action(async (ctx, o: { output?: string; format: "yaml" | "json" }, number: number) => {
        const { version } = await ctx.priceLists.getVersion({ number: String(number) });
        if (version === undefined) return;
        const text =
          o.format === "json" ? `${JSON.stringify(PriceListVersion.toJSON(version), null, 2)}\n` : renderContent(version.content);
        if (o.output === undefined) await ctx.write(text);
        else writeFileSync(o.output, text);
      }),
    );
}
