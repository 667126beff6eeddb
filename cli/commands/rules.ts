/**
 * `ratemesh rules`: sandboxed price rules (CEL), in place of CloudKitty's
 * pyscripts. A rule's condition selects points, its expression gives their
 * new price; the rating service compiles both and refuses a rule that does
 * not compile, with the position of the error.
 */
import { type Command, Option } from "commander";
import { CreateRuleRequest, ListRulesRequest, PriceRule, UpdateRuleRequest } from "../../libs/gen/ratemesh/v1/rating.js";
import { action, type Context } from "../context.js";
import { iso, shortTime } from "../dates.js";
import { dateOption, examples, formatOption, parseIntArg } from "../options.js";
import { type Column, type Format, renderRecord, renderRows } from "../output.js";
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

async function printRule(ctx: Context, format: "table" | "json", r: PriceRule | undefined): Promise<void> {
  if (r === undefined) return;
  const record = format === "json" ? (PriceRule.toJSON(r) as Record<string, unknown>) : { ...row(r, false), description: r.description };
  await ctx.write(renderRecord(format, record));
}

interface RuleOptions {
  condition?: string;
  expression?: string;
  order?: number;
  start?: Date;
  end?: Date;
  description?: string;
  format: "table" | "json";
}

export function register(program: Command): void {
  const rules = program
    .command("rules")
    .description("CEL price rules (the rules rating module)")
    .addHelpText("after", examples("ratemesh rules list", "ratemesh modules enable rules"));

  rules
    .command("list")
    .description("List rules (live ones unless --deleted)")
    .option("--tenant <project>", "only this project's rules")
    .option("--deleted", "include deleted rules")
    .addOption(dateOption("--active-at <when>", "only rules in force at this instant"))
    .addOption(formatOption())
    .addHelpText("after", examples("ratemesh rules list --active-at now"))
    .action(
      action(async (ctx, o: { tenant?: string; deleted?: boolean; activeAt?: Date; format: Format }) => {
        const list = await allPages(async (pageToken) => {
          const r = await ctx.rules.listRules(
            ListRulesRequest.fromPartial({
              tenantId: o.tenant ?? "",
              includeDeleted: o.deleted === true,
              activeAt: o.activeAt,
              pageSize: 1000,
              pageToken,
            }),
          );
          return { items: r.rules, next: r.nextPageToken };
        });
        if (o.format === "json")
          await ctx.write(
            `${JSON.stringify(
              list.map((r) => PriceRule.toJSON(r)),
              null,
              2,
            )}\n`,
          );
        else
          await ctx.write(
            renderRows(
              o.format,
              COLUMNS,
              list.map((r) => row(r, o.format === "table")),
            ),
          );
      }),
    );

  rules
    .command("show")
    .argument("<rule_id>")
    .description("One rule")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh rules show 2f7c1d0a-3b9e-4e61-a1c4-8d2b9f0e6a17"))
    .action(
      action(async (ctx, o: { format: "table" | "json" }, id: string) => {
        await printRule(ctx, o.format, (await ctx.rules.getRule({ ruleId: id })).rule);
      }),
    );

  rules
    .command("create")
    .argument("<name>")
    .description("Create a rule: points matching --condition get the price --expression gives")
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
    .addOption(formatOption(["table", "json"]))
    .addHelpText(
      "after",
      examples(`ratemesh rules create ssd-premium --condition 'metadata.volume_type == "ssd"' --expression 'decimal.mul(price, "1.1")'`),
    )
    .action(
      action(async (ctx, o: RuleOptions & { tenant?: string; force?: boolean }, name: string) => {
        const { rule } = await ctx.rules.createRule(
          CreateRuleRequest.fromPartial({
            name,
            condition: o.condition ?? "",
            expression: o.expression ?? "",
            order: o.order ?? 0,
            tenantId: o.tenant ?? "",
            start: o.start,
            end: o.end,
            description: o.description ?? "",
            force: o.force === true,
          }),
        );
        await printRule(ctx, o.format, rule);
      }),
    );

  rules
    .command("update")
    .argument("<rule_id>")
    .description("Change a rule")
    .option("--expression <cel>")
    .option("--condition <cel>")
    .option("--order <n>", "new order", parseIntArg)
    .addOption(dateOption("--start <when>", "new start"))
    .addOption(dateOption("--end <when>", "new end"))
    .option("--description <text>")
    .addOption(formatOption(["table", "json"]))
    .addHelpText("after", examples("ratemesh rules update 2f7c1d0a-3b9e-4e61-a1c4-8d2b9f0e6a17 --end 2027-01-01"))
    .action(
      action(async (ctx, o: RuleOptions, id: string) => {
        const { rule } = await ctx.rules.updateRule(
          UpdateRuleRequest.fromPartial({
            ruleId: id,
            ...(o.condition !== undefined && { condition: o.condition }),
            ...(o.expression !== undefined && { expression: o.expression }),
            ...(o.order !== undefined && { order: o.order }),
            start: o.start,
            end: o.end,
            ...(o.description !== undefined && { description: o.description }),
          }),
        );
        await printRule(ctx, o.format, rule);
      }),
    );

  rules
    .command("delete")
    .argument("<rule_id>")
    .description("Delete a rule: it stays listed with --deleted and never applies again")
    .addHelpText("after", examples("ratemesh rules delete 2f7c1d0a-3b9e-4e61-a1c4-8d2b9f0e6a17"))
    .action(
      action(async (ctx, _o: object, id: string) => {
        await ctx.rules.deleteRule({ ruleId: id });
        await ctx.write(`deleted rule ${id}\n`);
      }),
    );
}
