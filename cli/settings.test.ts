/** Where the services are: flags and environment over the config file over the defaults. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CliError } from "./errors.js";
import { addressesFromConfig, reachableFromListen, resolveSettings } from "./settings.js";

function withConfig(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "ratemesh-cli-"));
  try {
    const file = join(dir, "ratemesh.conf");
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("connection settings", () => {
  it("reads the mesh's own ratemesh.conf: endpoint first, else listen with a wildcard host made loopback", () => {
    withConfig(
      "[storage]\nlisten = 0.0.0.0:9700\nendpoint = storage.internal:9631\n\n[rating]\nlisten = [::]:9701\n\n[collector]\nlisten = 10.0.0.5:9702\n",
      (file) => {
        assert.deepEqual(addressesFromConfig(file), {
          storage: "storage.internal:9631",
          rating: "127.0.0.1:9701",
          collector: "10.0.0.5:9702",
        });
      },
    );
  });

  it("an option wins over the file, the file over the defaults", () => {
    withConfig("[storage]\nlisten = 127.0.0.1:9700\n", (file) => {
      const s = resolveSettings({ config: file, rating: "r:1", timeout: 30 });
      assert.deepEqual(s.address, { storage: "127.0.0.1:9700", rating: "r:1", collector: "127.0.0.1:9633" });
      assert.equal(s.token, undefined);
      assert.equal(s.tls, undefined);
    });
  });

  it("refuses a listen address nobody can reach, naming file, line, section and option", () => {
    withConfig("[storage]\nurl = x\nlisten = 127.0.0.1:0\n", (file) => {
      assert.throws(
        () => addressesFromConfig(file),
        (err: unknown) => err instanceof CliError && err.kind === "usage" && err.message.startsWith(`${file}:3: [storage] listen`),
      );
    });
  });

  it("a client certificate needs its key", () => {
    assert.throws(() => resolveSettings({ osCert: "/nonexistent.pem", timeout: 30 }), /--os-key/);
  });

  it("maps listen addresses to reachable ones", () => {
    assert.equal(reachableFromListen("0.0.0.0:9631"), "127.0.0.1:9631");
    assert.equal(reachableFromListen(":9631"), "127.0.0.1:9631");
    assert.equal(reachableFromListen("[::1]:9631"), "[::1]:9631");
    assert.equal(reachableFromListen("127.0.0.1:0"), undefined);
    assert.equal(reachableFromListen("localhost"), undefined);
  });
});
