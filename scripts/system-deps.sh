#!/usr/bin/env bash
# Install the Debian packages the tests use as independent peers, when they are missing:
# Chromium (browser tests), DCMTK and dicom3tools (DICOM peers and validators), poppler (PDF read-back),
# coturn (the TURN relay of video consults).
# `system-deps.sh bench` adds Orthanc, the baseline of the DICOM benchmark (not needed by the tests).
set -euo pipefail
declare -A want=(
  [chromium]=chromium
  [dcmdump]=dcmtk
  [dciodvfy]=dicom3tools
  [pdftotext]=poppler-utils
  [fc-list]=fontconfig
  [turnserver]=coturn
)
if [ "${1:-}" = bench ]; then
  want[Orthanc]=orthanc
fi
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
# A Chinese font, so that Chromium's screenshots of the pages are legible (the pages use the system's fonts).
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]} (install them with apt-get as root; the tests that need them will skip)" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
