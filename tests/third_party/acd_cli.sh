#!/usr/bin/env bash
# acd_cli 0.3.2, unmodified, against acd-emu: its normal commands must work and give the
# right bytes. Usage: acd_cli.sh PATH-TO-acd_cli PATH-TO-acd-emu
# acd_cli is pointed at the emulator the only way it allows: its endpoint_data and
# oauth_data files, pre-written (§13.5 of the API reference).
set -euo pipefail
ACD_CLI=$1
ACD_EMU=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "$0")/common.sh"
start_emu --access-token 'Atza|acd-cli-check' --refresh-token 'Atzr|acd-cli-check'

export ACD_CLI_CACHE_PATH=$WORK/cache ACD_CLI_SETTINGS_PATH=$WORK/settings
mkdir -p "$ACD_CLI_CACHE_PATH" "$ACD_CLI_SETTINGS_PATH" "$WORK/up" "$WORK/down"
python3 - "$EMU_URL" "$ACD_CLI_CACHE_PATH" <<'PY'
import json, sys, time
url, cache = sys.argv[1], sys.argv[2]
far = time.time() + 365 * 86400
json.dump({"contentUrl": url + "/cdproxy/", "metadataUrl": url + "/drive/v1/", "customerExists": True, "exp_time": far},
          open(cache + "/endpoint_data", "w"))
json.dump({"access_token": "Atza|acd-cli-check", "refresh_token": "Atzr|acd-cli-check", "token_type": "bearer",
           "expires_in": 3600, "exp_time": far}, open(cache + "/oauth_data", "w"))
PY

acd() { "$ACD_CLI" "$@" 2>>"$WORK/acd_cli.err"; }
# Match on captured output: `cmd | grep -q` under pipefail fails when grep exits first.
contains() { grep -qF -- "$2" <<<"$1"; }
# On failure, show what acd_cli said.
fail() { echo "FAIL: $*" >&2; tail -20 "$WORK/acd_cli.err" >&2 2>/dev/null; exit 1; }

printf 'hello from acd_cli\n' >"$WORK/up/hello.txt"
head -c 3000000 /dev/urandom >"$WORK/up/big.bin"
: >"$WORK/up/empty.txt"
printf 'ünïcödé\n' >"$WORK/up/naïve café 東京.txt"

acd sync >/dev/null || fail "sync"
acd mkdir /docs || fail "mkdir"
acd upload "$WORK/up/hello.txt" "$WORK/up/big.bin" "$WORK/up/empty.txt" "$WORK/up/naïve café 東京.txt" /docs >/dev/null || fail "upload"
listing=$(acd ls /docs)
for name in hello.txt big.bin empty.txt "naïve café 東京.txt"; do
  grep -qF "$name" <<<"$listing" || fail "ls /docs lacks $name: $listing"
done
acd download /docs/big.bin "$WORK/down" >/dev/null || fail "download"
acd download "/docs/naïve café 東京.txt" "$WORK/down" >/dev/null || fail "download unicode name"
cmp "$WORK/up/big.bin" "$WORK/down/big.bin" || fail "downloaded bytes differ"
cmp "$WORK/up/naïve café 東京.txt" "$WORK/down/naïve café 東京.txt" || fail "unicode file differs"
[ "$(acd cat /docs/hello.txt)" = "hello from acd_cli" ] || fail "cat"
big_md5=$(md5sum <"$WORK/up/big.bin" | cut -d' ' -f1)
contains "$(acd find-md5 "$big_md5")" big.bin || fail "find-md5"

acd rename /docs/hello.txt greeting.txt || fail "rename"
acd mkdir /archive || fail "mkdir /archive"
acd mv /docs/greeting.txt /archive || fail "mv"
contains "$(acd tree)" "greeting.txt" || fail "tree"
printf 'overwritten\n' >"$WORK/up/new.txt"
acd overwrite /archive/greeting.txt "$WORK/up/new.txt" >/dev/null || fail "overwrite"
[ "$(acd cat /archive/greeting.txt)" = "overwritten" ] || fail "cat after overwrite"
[ "$(acd metadata /archive/greeting.txt | python3 -c 'import json,sys; print(json.load(sys.stdin)["contentProperties"]["version"])')" = 2 ] \
  || fail "content version after overwrite"

# list-trash shows what was trashed at the top level (acd_cli's own cache semantics).
acd mv /archive/greeting.txt / || fail "mv to root"
id=$(acd metadata /greeting.txt | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
acd trash /greeting.txt || fail "trash"
contains "$(acd list-trash)" "$id" || fail "list-trash"
contains "$(acd ls /)" greeting.txt && fail "trashed file still listed"
acd restore "$id" || fail "restore"
contains "$(acd ls /)" greeting.txt || fail "restored file not listed"

contains "$(acd usage)" "Total" || fail "usage"
contains "$(acd quota)" '"available"' || fail "quota"
# A second client's change arrives through the changes feed on the next sync.
acd sync >/dev/null || fail "incremental sync"

# Nothing the client did drew a server error.
if emu_requests | grep -E '^5'; then fail "server errors in the emulator log"; fi
echo "acd_cli: $(emu_requests | wc -l) requests, all commands passed"
