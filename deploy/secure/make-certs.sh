#!/bin/sh
# Makes what a secured ratemesh mesh needs, with openssl, in DIR:
#   ca.crt, ca.key                      the mesh's CA (keep ca.key offline once done)
#   ratemesh-<service>.crt/.key         storage, rating, collector, api: each serves TLS
#                                       with it and presents it on its own calls; the
#                                       collector's (CN ratemesh-collector) is the
#                                       service identity
#   operator.crt/.key                   a client certificate for the ratemesh CLI
#   jwt-signing.key, jwt-public.pem     the key pair of the example's token issuer
#                                       (mint-token.sh signs with it; the services
#                                       verify with the public half)
# Extra arguments are host names or IP addresses the services are reached by,
# added to each service certificate (localhost and 127.0.0.1 always are).
#   usage: sh make-certs.sh DIR [HOST_OR_IP...]
set -eu
dir=${1:?usage: sh make-certs.sh DIR [HOST_OR_IP...]}
shift
days=${RATEMESH_CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"
umask 077

names="DNS:localhost,IP:127.0.0.1"
for h in "$@"; do
  case "$h" in
    *[!0-9.]*) names="$names,DNS:$h" ;;
    *) names="$names,IP:$h" ;;
  esac
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
  -days "$days" -subj "/CN=ratemesh CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# cert NAME EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$2"
    if [ -n "${3:-}" ]; then echo "subjectAltName=$3"; fi
  } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

for service in storage rating collector api; do
  cert "ratemesh-$service" serverAuth,clientAuth "DNS:ratemesh-$service,$names"
done
cert operator clientAuth

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt-signing.key 2>/dev/null
openssl pkey -in jwt-signing.key -pubout -out jwt-public.pem
rm -f ca.srl
chmod 644 ./*.crt jwt-public.pem
echo "certificates and keys written to $(pwd)"
