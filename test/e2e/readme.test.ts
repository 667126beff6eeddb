/**
 * The README's buf curl block, pasted after `npm start`: the demo (its
 * three services, the bundled usage, the price list) is started as `npm
 * start` runs it, and every command of the block is run by sh as printed.
 * Each must succeed with a non-empty answer.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, tempDir } from "../support/mesh.js";

/** The sh block of the README's "Querying with buf curl" section: its `B=` line and its commands (continuation lines joined). */
function bufCurlBlock(): { prelude: string; commands: string[] } {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Querying with buf curl"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block !== undefined, "the README has the block");
  const lines = block.replace(/\\\n\s*/g, "").split("\n");
  const prelude = lines.filter((l) => l.startsWith("B=")).join("\n");
  return { prelude, commands: lines.filter((l) => l.startsWith("$B ")) };
}

/** What a command's answer must hold to count as an answer on the demo's data. */
function checkAnswer(command: string, stdout: string): void {
  assert.notEqual(stdout.trim(), "", `${command}: an empty answer`);
  if (command.includes("--list-services")) return;
  const answer = JSON.parse(stdout) as Record<string, unknown>;
  const nonEmpty = (key: string) => assert.ok(Array.isArray(answer[key]) && answer[key].length > 0, `${command}: no ${key} in ${stdout}`);
  if (/\/(Summary)\b/.test(command)) nonEmpty("rows");
  else if (/\/Total\b/.test(command)) assert.ok(Number(answer.points) > 0, `${command}: ${stdout}`);
  else if (/\/ListScopes\b/.test(command)) nonEmpty("scopes");
  else if (/\/Collect\b/.test(command)) nonEmpty("points");
  else if (/\/Explain\b/.test(command)) nonEmpty("modules");
  else if (/\/GetStatus\b/.test(command)) nonEmpty("scopes");
  else assert.ok(Object.keys(answer).length > 0, `${command}: ${stdout}`);
}

describe("README", () => {
  it("every buf curl command of the README works as printed after npm start", async (t) => {
    // Its databases in a directory of its own: another test may run the demo meanwhile.
    const demo = spawn(process.execPath, [join(REPO_ROOT, "dist/deploy/local/demo.js"), "--data", tempDir(t)], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise((resolve) => demo.once("close", resolve));
    t.after(async () => {
      demo.kill("SIGTERM");
      await exited;
    });
    let stdout = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo did not come up within 120 s:\n${stdout}`)), 120_000);
      demo.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("the services keep running")) {
          clearTimeout(timer);
          resolve();
        }
      });
      demo.once("close", () => reject(new Error(`the demo exited:\n${stdout}`)));
    });
    // Where the demo's services listen, as it prints them.
    const address = (service: string) => new RegExp(`^ {2}${service} +(\\S+)$`, "m").exec(stdout)?.[1] ?? "";
    const actual: Record<string, string> = {
      "127.0.0.1:9631": address("storage"),
      "127.0.0.1:9632": address("rating"),
      "127.0.0.1:9633": address("collector"),
    };
    const moved = Object.entries(actual).filter(([readme, listening]) => readme !== listening);
    // The demo listens on the README's ports unless one is taken on this machine (then it says so, and the commands are pointed at its ports).
    for (const [readme] of moved) assert.match(stdout, new RegExp(`port ${readme.split(":")[1]} is taken`));
    if (moved.length > 0) t.diagnostic(`ports taken here, commands pointed at the demo's: ${JSON.stringify(moved)}`);

    const { prelude, commands } = bufCurlBlock();
    assert.ok(commands.length >= 8, `the block has its commands (${commands.length})`);
    for (const printed of commands) {
      const command = moved.reduce((c, [readme, listening]) => c.replaceAll(readme, listening), printed);
      const r = spawnSync("sh", ["-c", `${prelude}\n${command}`], { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, `${printed}\nexit ${r.status}: ${r.stderr}`);
      checkAnswer(printed, r.stdout);
    }
  });
});
