#!/usr/bin/env bash
# Makes the README's screenshots from the real binary in a real terminal: acdc runs in
# tmux on the demo Drive, keys are sent as a user would, `tmux capture-pane -e` keeps the
# colours, and ansi2png.py draws the cells. Needs tmux, Pillow and wcwidth (pip), and the
# fonts named in ansi2png.py.  Run: bash screenshots/make.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin acdc
bin=$PWD/target/debug/acdc
out=$PWD/screenshots
work=$(mktemp -d)
scene=0
sock=acdc-shots-$$-0
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

start() { # start COLUMNS ROWS ARGS...  (each scene gets its own tmux server)
  local cols=$1 rows=$2; shift 2
  tmux -L "$sock" kill-server 2>/dev/null || true
  scene=$((scene + 1))
  sock=acdc-shots-$$-$scene
  tmux -L "$sock" new-session -d -s shot -x "$cols" -y "$rows" \
    "TERM=xterm-256color ACDC_DATA_DIR=$work $bin $* --log-file $work/acdc.log; sleep 30"
}
keys() { for k in "$@"; do tmux -L "$sock" send-keys -t shot "$k"; sleep 0.3; done; }
wait_for() { # wait_for TEXT
  for _ in $(seq 1 150); do
    tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1" && return 0
    sleep 0.2
  done
  echo "screenshots: never saw '$1'" >&2
  tmux -L "$sock" capture-pane -p -t shot >&2
  exit 1
}
shoot() { # shoot NAME COLUMNS ROWS
  tmux -L "$sock" capture-pane -e -p -t shot > "$work/$1.ans"
  python3 "$out/ansi2png.py" "$work/$1.ans" "$out/$1.png" "$2" "$3"
  echo "screenshots/$1.png"
}

# The dual pane with a busy queue: two Drive folders copied down.
start 120 36 --demo
wait_for "/Documents"
keys Tab j j j Space j Space F5
wait_for "files ·"
sleep 2
shoot dual-pane-busy-queue 120 36

# The Drive's trash, with days left before the 30-day purge.
keys t
wait_for "in trash"
sleep 0.5
shoot trash-view 120 36

# Help: every key as bound now.
keys t '?'
wait_for "every key"
shoot help 120 36

# The wizard on SSH: the address, the port-forward hint, the paste field and a QR code.
start 160 45 --demo --wizard
wait_for "step 1 of 8"
keys Enter Enter Enter Enter Enter Down Enter
wait_for "Open this address"
sleep 0.5
shoot wizard-headless 160 45
