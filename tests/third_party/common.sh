# Shared by the third-party client checks: start acd-emu (the real binary) on loopback and
# stop it on exit. Sourced; expects ACD_EMU (path to the binary) and WORK (a temp folder).

fail() { echo "FAIL: $*" >&2; exit 1; }

start_emu() {
  "$ACD_EMU" --listen 127.0.0.1:0 --data "$WORK/emu-data" "$@" >"$WORK/emu.out" 2>"$WORK/emu.log" &
  EMU_PID=$!
  trap 'kill $EMU_PID 2>/dev/null; wait $EMU_PID 2>/dev/null' EXIT
  for _ in $(seq 1 100); do
    [ -s "$WORK/emu.out" ] && break
    sleep 0.1
  done
  EMU_URL=$(head -1 "$WORK/emu.out" | sed -n 's/^listening on //p')
  [ -n "$EMU_URL" ] || fail "acd-emu did not announce its address: $(cat "$WORK/emu.log")"
}

# Every API answer the client got, as "STATUS METHOD PATH", from the emulator's log.
emu_requests() {
  sed 's/\x1b\[[0-9;]*m//g' "$WORK/emu.log" | sed -n 's/.*acd_emu::requests: \([A-Z]*\) \([^ ]*\) \([0-9]*\) .*/\3 \1 \2/p'
}
