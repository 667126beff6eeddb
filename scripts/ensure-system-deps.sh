#!/bin/sh
# Installs the Debian packages of the real servers and clients the tests run
# against, when they are missing: etcd (coordination), Gnocchi with uWSGI,
# Keystone (the Gnocchi collector's Keystone authentication), Prometheus and
# PostgreSQL, CloudKitty and its client, faketime. Needs root and Debian's
# apt repositories; does nothing when everything is there.
set -e
missing=""
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing="$missing $1"; }

need_cmd etcd etcd-server
need_cmd etcdctl etcd-client
need_cmd prometheus prometheus
need_cmd promtool prometheus
need_cmd gnocchi-upgrade python3-gnocchi
need_pkg python3-gnocchiclient
need_cmd uwsgi uwsgi-core
need_pkg uwsgi-plugin-python3
need_cmd keystone-manage python3-keystone
need_pkg python3-psycopg2
need_cmd pg_ctlcluster postgresql
need_cmd psql postgresql-client
need_cmd ss iproute2
# The real CloudKitty client (the api gateway's acceptance tests), CloudKitty
# itself (its API and rating code, for side-by-side tests), faketime (a
# collector under a skewed clock).
need_pkg python3-cloudkittyclient
need_pkg python3-cloudkitty
need_cmd faketime faketime

[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages:$missing (run as root, or install them with apt-get)" >&2
  exit 1
fi
echo "installing system packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start daemons: the tests start their own servers.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
