#!/usr/bin/env bash
# What `make test-deploy` needs from the machine: Debian's PostgreSQL and Redis. Installed only when
# missing (as root), without starting the packages' own services: the test starts its own servers on
# free ports and stops them.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deploy_setup: ${need[*]} missing; install them (apt-get install ${need[*]}) or run as root" >&2
  exit 2
fi
# policy-rc.d 101: "do not start services" while the packages install (the Docker images' way).
cleanup=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  cleanup=/usr/sbin/policy-rc.d
fi
trap '[ -n "$cleanup" ] && rm -f "$cleanup"' EXIT
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
