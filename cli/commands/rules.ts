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
import { deleteCommand, messageKind, type RecordFormat, recordFormatOption, showCommand, subcommand } from "../declare.js";
import { dateOption, formatOption, parseIntArg } from "../options.js";
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
  format: RecordFormat;
}

const EXAMPLE_ID = "2f7c1d0a-3b9e-4e61-a1c4-8d2b9f0e6a17";

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

  showCommand(rules, RULE, { description: "One rule", example: `ratemesh rules show ${EXAMPLE_ID}` }, async (ctx, id) => {
    return (await ctx.rules.getRule({ ruleId: id })).rule;
  });

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
      action(async (ctx, o: RuleOptions & { tenant?: string; force?: boolean }, name: string) => {
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
        await RULE.print(ctx, o.format, (await ctx.rules.createRule(req)).rule);
      }),
    );

  subcommand(rules, "update", "Change a rule", `ratemesh rules update ${EXAMPLE_ID} --end 2027-01-01`)
    .argument(...RULE.arg)
    .option("--expression <cel>")
    .option("--condition <cel>")
    .option("--order <n>", "new order", parseIntArg)
    .addOption(dateOption("--start <when>", "new start"))
    .addOption(dateOption("--end <when>", "new end"))
    .option("--description <text>")
    .addOption(recordFormatOption())
    .action(
      action(async (ctx, o: RuleOptions, id: string) => {
        const req = UpdateRuleRequest.fromPartial({
          ruleId: id,
          ...(o.condition !== undefined && { condition: o.condition }),
          ...(o.expression !== undefined && { expression: o.expression }),
          ...(o.order !== undefined && { order: o.order }),
          start: o.start,
          end: o.end,
          ...(o.description !== undefined && { description: o.description }),
        });
        await RULE.print(ctx, o.format, (await ctx.rules.updateRule(req)).rule);
      }),
    );

  const remove = {
    description: "Delete a rule: it stays listed with --deleted and never applies again",
    example: `ratemesh rules delete ${EXAMPLE_ID}`,
  };
  deleteCommand(rules, RULE, remove, (ctx, ruleId) => ctx.rules.deleteRule({ ruleId }));
}
