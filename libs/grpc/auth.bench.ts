/**
 * What authentication costs per call: the same unary call over a loopback
 * gRPC connection, unauthenticated (noauth) and with a token the server has
 * already validated (an OpenStack identity token, validated once by a
 * stand-in identity endpoint, then from the cache; a JWT, verified once,
 * then from the cache), and a JWT verified on every call (a new token each
 * time). Prints microseconds per call.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { type Authenticator, noauth, tokenAuthenticator } from "../auth/authenticate.js";
import { JwtValidator } from "../auth/jwt.js";
import { OpenStackTokenValidator } from "../auth/openstack-token.js";
import { ScopeServiceService } from "../gen/ratemesh/v1/storage.js";
import { silentLogger } from "../logging/logger.js";
import { Connection } from "./client.js";
import { Guard } from "./guard.js";
import { GrpcServer } from "./server.js";

const CALLS = 3000;
const EXPIRES = new Date(Date.now() + 3600_000).toISOString();

async function identityEndpoint(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    if (req.method === "POST") {
      res.writeHead(201, { "content-type": "application/json", "x-subject-token": "service-token" });
      res.end(JSON.stringify({ token: { expires_at: EXPIRES } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        token: { expires_at: EXPIRES, user: { id: "u1", name: "bench" }, project: { id: "p1" }, roles: [{ name: "admin" }] },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/v3`, close: () => server.close() };
}

async function measure(name: string, authenticator: Authenticator, tokens: () => string | undefined, base?: number): Promise<number> {
  const server = new GrpcServer({ logger: silentLogger(), maxMessageBytes: 1 << 20, guard: new Guard(authenticator) });
  // Only GetScope is served and allowed: the guard's full path (authenticate, then the rule).
  server.add(ScopeServiceService, { getScope: async () => ({ scope: undefined }) }, { getScope: { rule: "role:admin" } } as never);
  const port = await server.listen("127.0.0.1", 0);
  server.setServing(true);
  const conn = new Connection(`127.0.0.1:${port}`, {
    deadlineSeconds: 10,
    retries: 0,
    retryBackoffSeconds: 0.1,
    keepaliveSeconds: 30,
    maxMessageBytes: 1 << 20,
  });
  const client = conn.client(ScopeServiceService);
  const call = () => {
    const token = tokens();
    return client.getScope({ scopeId: "s" }, token === undefined ? {} : { metadata: { "x-auth-token": token } });
  };
  for (let i = 0; i < 300; i++) await call();
  // The best of three rounds: the machine's other work only ever adds time.
  let us = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await call();
    us = Math.min(us, Number(process.hrtime.bigint() - t0) / 1000 / CALLS);
  }
  const extra = base === undefined ? "" : `  (+${(us - base).toFixed(1)} µs for authentication)`;
  process.stdout.write(`${name.padEnd(44)} ${us.toFixed(1).padStart(7)} µs/call${extra}\n`);
  conn.close();
  await server.shutdown(0);
  return us;
}

// Once to warm the process up, then measured.
await measure("noauth (warm-up)", noauth, () => undefined);
const base = await measure("noauth", noauth, () => undefined);
const identity = await identityEndpoint();
const openstack = new OpenStackTokenValidator({
  authUrl: identity.url,
  username: "svc",
  password: "x",
  projectName: "service",
  userDomainName: "Default",
  projectDomainName: "Default",
  cacheSeconds: 300,
  timeoutSeconds: 5,
});
await measure(
  "OpenStack identity token, cached",
  tokenAuthenticator({ strategy: "openstack", validator: openstack, serviceIdentities: [] }),
  () => "gAAAA-token",
  base,
);
await openstack.close();
identity.close();

const { publicKey, privateKey } = await generateKeyPair("RS256");
const dir = mkdtempSync(join(tmpdir(), "ratemesh-bench-"));
writeFileSync(join(dir, "key.pem"), await exportSPKI(publicKey));
const jwt = await JwtValidator.create({
  keysFile: join(dir, "key.pem"),
  algorithms: ["RS256"],
  rolesClaim: "roles",
  projectClaim: "project_id",
  userClaim: "sub",
  clockSkewSeconds: 30,
  jwksCacheSeconds: 600,
  timeoutSeconds: 5,
});
const sign = (i: number) =>
  new SignJWT({ roles: ["admin"], n: i }).setProtectedHeader({ alg: "RS256" }).setSubject("bench").setExpirationTime("1h").sign(privateKey);
const one = await sign(0);
await measure("JWT, cached", tokenAuthenticator({ strategy: "jwt", validator: jwt, serviceIdentities: [] }), () => one, base);
const fresh: string[] = [];
for (let i = 0; i < 3 * CALLS + 300; i++) fresh.push(await sign(i + 1));
let next = 0;
await measure(
  "JWT, verified on every call (RS256)",
  tokenAuthenticator({ strategy: "jwt", validator: jwt, serviceIdentities: [] }),
  () => fresh[next++],
  base,
);
rmSync(dir, { recursive: true, force: true });
