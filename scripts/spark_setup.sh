#!/usr/bin/env bash
# What `make test-spark` needs from the machine: a Java runtime for pyspark 4 (Java 17 or 21).
# Installed from Debian only when no suitable `java` is on the PATH (as root).
set -euo pipefail
java_major() {
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}
major=$(java_major)
if [ "${major:-0}" -ge 17 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "spark_setup: pyspark 4 needs Java 17 or 21 (found ${major:-none}); install openjdk-17-jre-headless or run as root" >&2
  exit 2
fi
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  openjdk-17-jre-headless
major=$(java_major)
if [ "${major:-0}" -lt 17 ]; then
  echo "spark_setup: installed openjdk-17-jre-headless but \`java -version\` says ${major:-none}; set JAVA_HOME to a Java 17" >&2
  exit 2
fi
