/**
 * The source plumbing's pure parts: JSON numbers kept as text, Keystone's
 * request body, URL and catalog choice, and the [collector_*]/[fetcher_*]
 * checks that stop a service at start with every problem named.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, redactedConfig } from "../../../libs/config/config.js";
import { tempDir } from "../../../test/support/mesh.js";
import { collectorConfig, loadCollectorConfig } from "../config.js";
import { isoformat } from "./gnocchi.js";
import { describeRequest } from "./http.js";
import { attributeText, parseJsonNumbersAsText } from "./json.js";
import { endpointFromCatalog, passwordRequestBody, tokensUrl } from "./keystone.js";

describe("JSON numbers as text", () => {
  it("keeps every number's digits, and strings as they are", () => {
    const v = parseJsonNumbersAsText('{"a": [0.1, 12345678901234567890, -1e-7, 2.5E+20], "s": "x 1.5 \\" 2", "n": null, "b": true}');
    assert.deepEqual(v, { a: ["0.1", "12345678901234567890", "-1e-7", "2.5E+20"], s: 'x 1.5 " 2', n: null, b: true });
    assert.equal(attributeText(null), "");
    assert.equal(attributeText(true), "true");
    assert.equal(attributeText({ k: "v" }), '{"k":"v"}');
  });
});

describe("Keystone helpers", () => {
  it("adds /v3 when the URL lacks it", () => {
    assert.equal(tokensUrl("http://ks:5000").toString(), "http://ks:5000/v3/auth/tokens");
    assert.equal(tokensUrl("http://ks:5000/v3/").toString(), "http://ks:5000/v3/auth/tokens");
    assert.equal(tokensUrl("https://cloud/identity/v3").toString(), "https://cloud/identity/v3/auth/tokens");
  });

  it("scopes the password request to a project, by name and domain or by id", () => {
    assert.deepEqual(
      JSON.parse(
        passwordRequestBody({
          authUrl: "",
          username: "ck",
          password: "p",
          userDomainName: "Default",
          projectName: "service",
          projectDomainId: "default",
        }),
      ),
      {
        auth: {
          identity: { methods: ["password"], password: { user: { password: "p", name: "ck", domain: { name: "Default" } } } },
          scope: { project: { name: "service", domain: { id: "default" } } },
        },
      },
    );
    assert.deepEqual(JSON.parse(passwordRequestBody({ authUrl: "", userId: "u1", password: "p", projectId: "p1" })).auth.scope, {
      project: { id: "p1" },
    });
  });

  it("takes the endpoint of the service type, interface and region", () => {
    const catalog = [
      { type: "identity", endpoints: [{ interface: "internal", region_id: "RegionOne", url: "http://ks" }] },
      {
        type: "metric",
        endpoints: [
          { interface: "public", region_id: "RegionOne", url: "http://public" },
          { interface: "internal", region_id: "RegionTwo", url: "http://internal-two" },
          { interface: "internal", region_id: "RegionOne", url: "http://internal-one" },
        ],
      },
    ];
    assert.equal(
      endpointFromCatalog(catalog, { serviceType: "metric", interface: "internalURL", regionName: "RegionOne" }),
      "http://internal-one",
    );
    assert.equal(endpointFromCatalog(catalog, { serviceType: "metric", interface: "public", regionName: "RegionOne" }), "http://public");
    assert.equal(endpointFromCatalog(catalog, { serviceType: "metric", interface: "admin", regionName: "RegionOne" }), undefined);
  });
});

describe("request descriptions", () => {
  it("never show credentials, and use CloudKitty's timestamp form", () => {
    assert.equal(
      describeRequest("GET", new URL("http://user:secret@prom:9090/api/v1/query?query=up")),
      "GET http://prom:9090/api/v1/query?query=up",
    );
    assert.equal(isoformat(new Date("2026-01-01T10:00:00Z")), "2026-01-01T10:00:00+00:00");
    assert.equal(isoformat(new Date("2026-01-01T10:00:00.250Z")), "2026-01-01T10:00:00.250+00:00");
  });
});

describe("source configuration checks", () => {
  const problems = (t: Parameters<typeof tempDir>[0], text: string): string[] => {
    const file = join(tempDir(t), "ratemesh.conf");
    writeFileSync(file, text);
    try {
      loadCollectorConfig({ file });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map((p) => p.replace(`${file}`, "F"));
    }
  };

  it("names each missing or wrong option of the Gnocchi and Prometheus sections", (t) => {
    assert.deepEqual(
      problems(
        t,
        "[collect]\ncollector = gnocchi\n[fetcher]\nbackend = prometheus\n[collector_gnocchi]\ngnocchi_auth_type = basic\ngnocchi_endpoint = gnocchi:8041\nhttp_pool_maxsize = 0\ncertfile = /c.pem\n[fetcher_prometheus]\nprometheus_url = http://prom:9090\nscope_attribute = project-id\nfilters = job:openstack, broken\n",
      ),
      [
        "F:8: [collector_gnocchi] http_pool_maxsize: 0 is below the minimum 1 (expected int 1..1000)",
        'F:7: [collector_gnocchi] gnocchi_endpoint: "gnocchi:8041" is not an http:// or https:// URL',
        "F: [collector_gnocchi] gnocchi_user: a value is required with gnocchi_auth_type = basic ([collect] collector = gnocchi; Gnocchi refuses an empty user)",
        "F: [collector_gnocchi] keyfile: a value is required with certfile",
        "F: [fetcher_prometheus] metric: a value is required when [fetcher] backend = prometheus",
        'F:12: [fetcher_prometheus] scope_attribute: "project-id" is not a label name',
        'F:13: [fetcher_prometheus] filters: "broken" is not label:value with a Prometheus label name',
      ],
    );
  });

  it("accepts a complete Keystone setup and marks the password secret", (t) => {
    assert.deepEqual(
      problems(
        t,
        "[collect]\ncollector = gnocchi\n[fetcher]\nbackend = gnocchi\n[collector_gnocchi]\nauth_url = http://ks:5000/v3\nusername = ck\npassword = p\nuser_domain_name = Default\nproject_name = service\nproject_domain_name = Default\n[fetcher_gnocchi]\nauth_url = http://ks:5000/v3\nuser_id = u\npassword = p\nproject_id = x\n",
      ),
      [],
    );
    for (const section of [collectorConfig.sections.collector_gnocchi, collectorConfig.sections.fetcher_gnocchi])
      assert.equal(section.password.secret, true);
    for (const section of [collectorConfig.sections.collector_prometheus, collectorConfig.sections.fetcher_prometheus])
      assert.equal(section.prometheus_password.secret, true);
    const shown = redactedConfig(
      collectorConfig,
      loadCollectorConfig({
        env: {
          RATEMESH_COLLECTOR_GNOCCHI__PASSWORD: "hunter2",
          RATEMESH_FETCHER__BACKEND: "source",
          RATEMESH_FETCHER_SOURCE__SOURCES: "x",
          RATEMESH_COLLECT__COLLECTOR: "prometheus",
          RATEMESH_COLLECTOR_PROMETHEUS__PROMETHEUS_URL: "http://p:9090",
        },
      }),
    );
    assert.equal(shown.collector_gnocchi?.password, "***");
  });
});
