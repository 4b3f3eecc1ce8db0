#!/usr/bin/env bash
# rclone's "amazon cloud drive" backend (Debian's rclone 1.60), unmodified, against acd-emu.
# Usage: rclone.sh PATH-TO-rclone PATH-TO-acd-emu
# Its discovery URL is compiled in, so its one HTTPS request goes through a loopback
# TLS-terminating proxy (discovery_proxy.py) trusted via --ca-cert; everything else goes
# straight to the emulator's loopback URLs. The config is tests/fixtures/rclone-before-refresh.conf:
# rclone must refresh its expired token at the emulator and rewrite only the token line.
set -euo pipefail
RCLONE=$1
ACD_EMU=$2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
source "$HERE/common.sh"

start_emu --client 'amzn1.application-oa2-client.0123456789abcdef:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:rclone' \
  --refresh-token peers-refresh-token --direct-download-limit 512k \
  --late-upload-min-size 3M --late-upload-delay 2s
stop_all() { kill "$EMU_PID" "${PROXY_PID:-}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap stop_all EXIT

# A throwaway CA and a certificate for drive.amazonaws.com, valid two days.
( cd "$WORK"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=acd-emu test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=drive.amazonaws.com" 2>/dev/null
  printf 'subjectAltName=DNS:drive.amazonaws.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext 2>/dev/null )
python3 "$HERE/discovery_proxy.py" "$WORK/leaf.pem" "$WORK/leaf.key" "$EMU_URL" >"$WORK/proxy.out" 2>"$WORK/proxy.log" &
PROXY_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/proxy.out" ] && break; sleep 0.1; done
PROXY_PORT=$(sed -n 's/^listening on //p' "$WORK/proxy.out")
[ -n "$PROXY_PORT" ] || fail "proxy did not start: $(cat "$WORK/proxy.log")"

sed "s#{EMU}#$EMU_URL#g" "$HERE/../fixtures/rclone-before-refresh.conf" >"$WORK/rclone.conf"
cp "$WORK/rclone.conf" "$WORK/rclone.conf.orig"
# On failure, show what rclone said.
fail() { echo "FAIL: $*" >&2; tail -20 "$WORK/rclone.log" >&2 2>/dev/null; exit 1; }
rc() { HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" "$RCLONE" --config "$WORK/rclone.conf" --ca-cert "$WORK/ca.pem" \
  --low-level-retries 3 "$@" 2>>"$WORK/rclone.log"; }

# 1. The first call refreshes the expired token and writes it back like the fixture shows.
rc lsd photos: >/dev/null || fail "lsd: $(tail -5 "$WORK/rclone.log")"
mask() { sed 's/^token = .*/token = …/' "$1"; }
sed "s#{EMU}#$EMU_URL#g" "$HERE/../fixtures/rclone-after-refresh.conf" >"$WORK/after.conf"
diff <(mask "$WORK/after.conf") <(mask "$WORK/rclone.conf") \
  || fail "rclone rewrote more than the token line, or not as in tests/fixtures/rclone-after-refresh.conf"
python3 - "$WORK/rclone.conf" <<'PY' || fail "refreshed token line: $(grep '^token' "$WORK/rclone.conf")"
import datetime, json, re, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("token = "))
token = json.loads(line[len("token = "):])
assert list(token) == ["access_token", "token_type", "refresh_token", "expiry"], token
assert token["access_token"].startswith("Atza|") and token["refresh_token"] == "peers-refresh-token"
# RFC 3339 with nanoseconds, about an hour ahead.
m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+(Z|[+-]\d\d:\d\d)", token["expiry"])
assert m, token["expiry"]
expiry = datetime.datetime.fromisoformat(m.group(1) + m.group(2).replace("Z", "+00:00"))
left = (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
assert 3000 < left < 3700, left
PY

# 2. A tree up, listed, checked by MD5, and back down.
mkdir -p "$WORK/src/sub dir/deeper" "$WORK/dst"
printf 'hello\n' >"$WORK/src/a b.txt"
printf 'ünïcödé 東京 🎉\n' >"$WORK/src/naïve 東京 🎉.txt"
printf 'colon\n' >"$WORK/src/colon:star*.txt"
: >"$WORK/src/empty.txt"
head -c 1000000 /dev/urandom >"$WORK/src/sub dir/one-mb.bin"
head -c 4000000 /dev/urandom >"$WORK/src/sub dir/deeper/four-mb.bin"
# 4 MB is over the late-upload threshold: the emulator answers 504 after the body and the
# file appears 2 s later; rclone's upload_wait_per_gb logic (§11.4) must find it.
rc copy "$WORK/src" photos:backup --acd-upload-wait-per-gb 12h || fail "copy up: $(tail -5 "$WORK/rclone.log")"
rc check "$WORK/src" photos:backup || fail "check: $(tail -5 "$WORK/rclone.log")"
[ "$(rc ls photos:backup | wc -l)" = 6 ] || fail "ls: $(rc ls photos:backup)"
(cd "$WORK/src" && find . -type f -exec md5sum {} + | sed 's# \./#  #; s#  \./#  #' | sort -k2) >"$WORK/local.md5"
rc md5sum photos:backup | sort -k2 >"$WORK/remote.md5"
diff <(awk '{print $1}' "$WORK/local.md5") <(awk '{print $1}' "$WORK/remote.md5") >/dev/null || fail "md5sum differs"
# Downloads: files over 500k go through tempLink (the emulator refuses them directly).
rc copy photos:backup "$WORK/dst" --acd-templink-threshold 500k || fail "copy down: $(tail -5 "$WORK/rclone.log")"
diff -r "$WORK/src" "$WORK/dst" || fail "downloaded tree differs"

# 3. Rename, move, delete (to the trash), purge a folder (to the trash).
rc moveto "photos:backup/a b.txt" "photos:backup/renamed.txt" || fail "moveto"
rc moveto "photos:backup/renamed.txt" "photos:backup/sub dir/renamed.txt" || fail "move into folder"
rc delete photos:backup/empty.txt || fail "delete"
rc purge "photos:backup/sub dir/deeper" || fail "purge"
got=$(rc lsf -R photos:backup | sort | tr '\n' '|')
want='colon:star*.txt|naïve 東京 🎉.txt|sub dir/|sub dir/one-mb.bin|sub dir/renamed.txt|'
[ "$got" = "$want" ] || fail "after moves: $got"
[[ "$(rc lsd photos:)" == *backup* ]] || fail "lsd after changes"

late=$(curl -s "$EMU_URL/_emu/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["late_uploads"])')
[ "$late" -ge 1 ] || fail "the late-upload path was not exercised"
if emu_requests | grep -E '^5' | grep -v '^504 POST /cdproxy/nodes'; then fail "unexpected server errors"; fi
echo "rclone: $(emu_requests | wc -l) requests, $late late upload(s) waited out, all commands passed"
