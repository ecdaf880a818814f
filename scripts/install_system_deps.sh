#!/usr/bin/env bash
# Debian packages some tests and datasets use: chromium + chromium-driver
# (tests/test_browser.py) and dataset-fashion-mnist (the main job's data).
# Installs them only when running as root with apt-get; otherwise, or when
# they are already there, does nothing. Never fails the build: the tests that
# need a missing package skip.
set -u
PACKAGES="chromium chromium-driver dataset-fashion-mnist"
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null 2>&1; then
  exit 0
fi
missing=""
for package in $PACKAGES; do
  dpkg -s "$package" > /dev/null 2>&1 || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -qq $missing > /dev/null 2>&1; then
  apt-get update -qq > /dev/null 2>&1
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing > /dev/null 2>&1 ||
    echo "install_system_deps.sh: could not install$missing; tests that need them will skip" >&2
fi
exit 0
