/**
 * `ratemesh rules`: sandboxed price rules (CEL), in place of CloudKitty's
 * pyscripts. A rule's condition selects points, its expression gives their
 * new price; the rating service compiles both and refuses a rule that does
 * not compile, with the position of the error.
 */
import { type Command, Option } from "commander";
import { CreateRuleRequest, ListRulesRequest, PriceRule, UpdateRuleRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { deleteCommand, messageKind, printsRecord, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { dateOption, formatOption, given, parseIntArg } from "../options.js";
import { type Column, type Format, renderMessages } from "../output.js";
import { allPages } from "../paging.js";

const COLUMNS: Column[] = [
  { key: "rule_id" },
  { key: "name" },
  { key: "order", right: true },
  { key: "tenant" },
  { key: "condition" },
  { key: "expression" },
  { key: "start" },
  { key: "end" },
];

function row(r: PriceRule, table: boolean) {
  const time = table ? shortTime : iso;
  return {
    rule_id: r.ruleId,
    name: r.name,
    order: String(r.order),
    tenant: r.tenantId,
    condition: r.condition,
    expression: r.expression,
    start: time(r.start),
    end: time(r.end),
    ...(r.deletedAt !== undefined && { deleted: time(r.deletedAt) }),
  };
}

const RULE = messageKind<PriceRule>(
  "rule",
  ["<rule_id>"],
  "2f7c1d0a-3b9e-4e61-a1c4-8d2b9f0e6a17",
  (_ctx, r) => ({ ...row(r, false), description: r.description }),
  (r) => PriceRule.toJSON(r),
);

interface RuleOptions {
  condition?: string;
  expression?: string;
  order?: number;
  start?: Date;
  end?: Date;
  description?: string;
}

export function register(program: Command): void {
  const rules = subcommand(
    program,
    "rules",
    "CEL price rules (the rules rating module)",
    "ratemesh rules list",
    "ratemesh modules enable rules",
  );

  subcommand(rules, "list", "List rules (live ones unless --deleted)", "ratemesh rules list --active-at now")
    .option("--tenant <project>", "only this project's rules")
    .option("--deleted", "include deleted rules")
    .addOption(dateOption("--active-at <when>", "only rules in force at this instant"))
    .addOption(formatOption())
    .action(
      action(async (ctx, o: { tenant?: string; deleted?: boolean; activeAt?: Date; format: Format }) => {
        const filter = { tenantId: o.tenant ?? "", includeDeleted: o.deleted === true, activeAt: o.activeAt };
        const list = await allPages(async (pageToken) => {
          const r = await ctx.rules.listRules(ListRulesRequest.fromPartial({ ...filter, pageSize: 1000, pageToken }));
          return { items: r.rules, next: r.nextPageToken };
        });
        const rows = (rs: PriceRule[]) => rs.map((r) => row(r, o.format === "table"));
        await ctx.write(renderMessages(o.format, list, (r) => PriceRule.toJSON(r), COLUMNS, rows));
      }),
    );

  showCommand(rules, RULE, async (ctx, ruleId) => (await ctx.rules.getRule({ ruleId })).rule);

  subcommand(
    rules,
    "create",
    "Create a rule: points matching --condition get the price --expression gives",
    `ratemesh rules create ssd-premium --condition 'metadata.volume_type == "ssd"' --expression 'decimal.mul(price, "1.1")'`,
  )
    .argument("<name>")
    .addOption(
      new Option("--expression <cel>", 'CEL expression of the new price (decimal strings: decimal.mul(qty, "0.5"))').makeOptionMandatory(),
    )
    .option("--condition <cel>", "CEL boolean expression selecting the points (default: every point)")
    .option("--order <n>", "rules run in descending order, then by name", parseIntArg)
    .option("--tenant <project>", "for this project only")
    .addOption(dateOption("--start <when>", "in force from (default: now; the past needs --force)"))
    .addOption(dateOption("--end <when>", "in force until, excluded"))
    .option("--description <text>")
    .option("--force", "allow a start in the past")
    .addOption(recordFormatOption())
    .action(
      printsRecord(RULE, async (ctx, o: RuleOptions & { tenant?: string; force?: boolean }, name: string) => {
        const req = CreateRuleRequest.fromPartial({
          name,
          condition: o.condition ?? "",
          expression: o.expression ?? "",
          order: o.order ?? 0,
          tenantId: o.tenant ?? "",
          start: o.start,
          end: o.end,
          description: o.description ?? "",
          force: o.force === true,
        });
        return (await ctx.rules.createRule(req)).rule;
      }),
    );

  subcommand(rules, "update", "Change a rule", `ratemesh rules update ${RULE.sample} --end 2027-01-01`)
    .argument(...RULE.arg)
    .option("--expression <cel>")
    .option("--condition <cel>")
    .option("--order <n>", "new order", parseIntArg)
    .addOption(dateOption("--start <when>", "new start"))
    .addOption(dateOption("--end <when>", "new end"))
    .option("--description <text>")
    .addOption(recordFormatOption())
    .action(
      printsRecord(RULE, async (ctx, o: RuleOptions, ruleId: string) => {
        const changes = { ...given(o, "condition", "expression", "order", "description"), start: o.start, end: o.end };
        return (await ctx.rules.updateRule(UpdateRuleRequest.fromPartial({ ruleId, ...changes }))).rule;
      }),
    );

  const remove = "Delete a rule: it stays listed with --deleted and never applies again";
  deleteCommand(rules, RULE, remove, `ratemesh rules delete ${RULE.sample}`, (ctx, ruleId) => ctx.rules.deleteRule({ ruleId }));
}
