#!/usr/bin/env bash
# Installs Debian's headless Chromium, its driver and a Chinese font for the report's browser test, when we can.
# Never fails the build: the browser test skips with a printed reason where Chromium is missing.
set -u
have_font() { fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; }
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && have_font; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: not root or no apt-get; the browser test will be skipped" >&2; exit 0
fi
echo "ensure_chromium: installing Debian packages chromium chromium-driver fonts-wqy-microhei" >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei) \
  > /tmp/planwatch-chromium-install.log 2>&1 || echo "ensure_chromium: install failed, see /tmp/planwatch-chromium-install.log" >&2
exit 0
