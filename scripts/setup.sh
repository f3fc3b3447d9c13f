#!/usr/bin/env bash
# Installs what the tests need from Debian's packages (nasm for the test guests; gdb for the
# debugger tests; Debian's chromium for the browser front end's test, test/web.test.ts; cpio is not
# needed: the initramfs is built in TypeScript). Idempotent: does
# nothing when everything is present. Needs root, or sudo.
set -euo pipefail
need=()
command -v nasm >/dev/null 2>&1 || need+=(nasm)
command -v gdb >/dev/null 2>&1 || need+=(gdb)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "scripts/setup.sh: need root or sudo to install: ${need[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
echo "scripts/setup.sh: installed ${need[*]}"
