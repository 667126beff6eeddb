/** The authenticator and the policy overrides a process's [auth], identity service and [jwt] options describe. */
import type { ConfigOf } from "../config/schema.js";
import type { BaseTrustSections, TrustValues } from "../config/trust.js";
import { type Authenticator, noauth, tokenAuthenticator } from "./authenticate.js";
import { JwtValidator } from "./jwt.js";
import { OpenStackTokenValidator } from "./openstack-token.js";
import { loadPolicyFile, type Rule } from "./policy.js";

export async function authenticatorFrom(t: TrustValues): Promise<Authenticator> {
  const c = t.config;
  const identities = c.auth.service_identities;
  switch (c.auth.auth_strategy) {
    case "noauth":
      return noauth;
    case t.idp.strategy: {
      const k = t.identity;
      const validator = new OpenStackTokenValidator({
        authUrl: k.auth_url,
        username: k.username,
        password: k.password,
        projectName: k.project_name,
        userDomainName: k.user_domain_name,
        projectDomainName: k.project_domain_name,
        cacheSeconds: k.token_cache_time,
        timeoutSeconds: k.http_connect_timeout,
        caFile: k.cafile,
        settings: `[${t.idp.section}]`,
      });
      const uri = k.www_authenticate_uri || k.auth_url;
      return tokenAuthenticator({ strategy: t.idp.strategy, validator, serviceIdentities: identities, hint: `${t.idp.name}: ${uri}` });
    }
    case "jwt": {
      const j = c.jwt;
      const validator = await JwtValidator.create({
        jwksUrl: j.jwks_url,
        keysFile: j.keys_file,
        issuer: j.issuer,
        audience: j.audience,
        algorithms: j.algorithms,
        rolesClaim: j.roles_claim,
        projectClaim: j.project_claim,
        userClaim: j.user_claim,
        clockSkewSeconds: j.clock_skew,
        jwksCacheSeconds: j.jwks_cache_time,
        timeoutSeconds: 5,
      });
      return tokenAuthenticator({ strategy: "jwt", validator, serviceIdentities: identities });
    }
    default:
      throw new Error(`[auth] auth_strategy = ${c.auth.auth_strategy} is not one this process knows`);
  }
}

/** The rules of [auth] policy_file, by method; none when it is not set. */
export function policyOverridesFrom(c: ConfigOf<BaseTrustSections>): Map<string, Rule> {
  return c.auth.policy_file === "" ? new Map() : loadPolicyFile(c.auth.policy_file);
}
