#!/bin/sh
# Signs a JWT (RS256) the secured example's services accept, with openssl: a
# stand-in for the identity provider a real deployment has.
#   usage: sh mint-token.sh SIGNING_KEY USER PROJECT ROLES [SECONDS]
#   e.g.   sh mint-token.sh pki/jwt-signing.key alice acme-prod reader 3600
# ROLES is comma separated (admin, member, reader); PROJECT may be "" for none.
# The issuer and audience are those of ratemesh.conf's [jwt] section.
set -eu
key=${1:?usage: sh mint-token.sh SIGNING_KEY USER PROJECT ROLES [SECONDS]}
user=${2:?user}
project=${3?project}
roles=${4?roles}
ttl=${5:-3600}
issuer=${RATEMESH_JWT_ISSUER:-ratemesh-example}
audience=${RATEMESH_JWT_AUDIENCE:-ratemesh}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
list=$(printf '%s' "$roles" | awk -F, '{ for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : ""), $i }')
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"%s","aud":"%s","sub":"%s","project_id":"%s","roles":[%s],"iat":%d,"exp":%d}' \
  "$issuer" "$audience" "$user" "$project" "$list" "$now" "$((now + ttl))" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
