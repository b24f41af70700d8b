# Shared by the .ci/ scripts (sourced, not run). Each step script can also run on its own:
#   bash .ci/windows-build.sh && bash .ci/windows-cli.sh
# Steps share a work folder (CI_WORK) for one run: .ci/run makes it; alone, a script makes one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# CI may start us with stdin closed; Wine then takes fd 0 for its server socket and fails
# ("recvmsg: Socket operation on non-socket"). Nothing here reads stdin.
exec </dev/null
export DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")
export CARGO_TARGET_DIR
if [ -z "${CI_WORK:-}" ]; then
  CI_WORK=$(mktemp -d /tmp/license-desk-ci.XXXXXX)
fi
export CI_WORK
mkdir -p "$CI_WORK"

WIN_TARGET=x86_64-pc-windows-gnu
WIN_EXE=$CARGO_TARGET_DIR/$WIN_TARGET/dist/license-desk.exe
WIN_APP_EXE=$CARGO_TARGET_DIR/$WIN_TARGET/dist/license-desk-app.exe
LINUX_BIN=$CARGO_TARGET_DIR/dist/license-desk
APP_VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

# Prints "STEP: ok (12 s)" or "STEP: FAILED ..." and keeps the start time of the step.
STEP_NAME=${STEP_NAME:-$(basename "${BASH_SOURCE[1]:-step}" .sh)}
STEP_START=$SECONDS
say() { echo "[$STEP_NAME] $*"; }
pass() { echo "$STEP_NAME: ok ($((SECONDS - STEP_START)) s)${1:+ — $1}"; }
fail() {
  echo "$STEP_NAME: FAILED — $*" >&2
  exit 1
}
# `check "what" CMD...`: runs CMD (its output kept in CI_WORK/check.log), says what passed,
# or stops the step with what failed and the end of the command's output.
check() {
  local what=$1
  shift
  if "$@" >"$CI_WORK/check.log" 2>&1; then
    say "pass: $what"
  else
    local status=$?
    tail -n 15 "$CI_WORK/check.log" | tr -d '\r' >&2
    fail "$what (exit $status)"
  fi
}

# Installs the Debian packages that are missing (apt-get update at most once per CI run).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  if [ ! -e "$CI_WORK/.apt-updated" ]; then
    apt-get update -qq && touch "$CI_WORK/.apt-updated"
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What the real window needs under Xvfb (Mesa's software OpenGL and Vulkan).
GUI_PACKAGES=(xvfb x11-utils xdotool libxkbcommon-x11-0 libx11-xcb1 libegl1 libegl-mesa0
  libgl1-mesa-dri libfontconfig1 libdbus-1-3 mesa-vulkan-drivers libvulkan1 xauth)

# Starts Xvfb on a free display for this step, stopped (and waited for) when the step exits,
# so the next step never meets a server on its way out. A server that does not stay up
# (its display taken after all) is tried again on the next free display.
start_xvfb() {
  local display attempt
  for attempt in 1 2 3; do
    for display in $(seq 90 120); do
      [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ] || break
    done
    Xvfb ":$display" -screen 0 1400x900x24 -nolisten tcp >"$CI_WORK/xvfb-$display.log" 2>&1 &
    XVFB_PID=$!
    export DISPLAY=:$display
    for _ in $(seq 50); do
      kill -0 "$XVFB_PID" 2>/dev/null || break
      xdpyinfo >/dev/null 2>&1 && break
      sleep 0.2
    done
    sleep 0.5
    if kill -0 "$XVFB_PID" 2>/dev/null && xdpyinfo >/dev/null 2>&1; then
      trap 'kill $XVFB_PID 2>/dev/null && wait $XVFB_PID 2>/dev/null; true' EXIT
      return 0
    fi
    say "Xvfb on :$display did not stay up (attempt $attempt): $(tail -n2 "$CI_WORK/xvfb-$display.log")"
    kill "$XVFB_PID" 2>/dev/null || true
    wait "$XVFB_PID" 2>/dev/null || true
  done
  fail "Xvfb would not start"
}

# `wait_for_window TITLE SECONDS`: the X window id of the first window named TITLE, or fails.
wait_for_window() {
  local title=$1 limit=$2 id=
  for _ in $(seq $((limit * 2))); do
    id=$(xdotool search --onlyvisible --name "^$title\$" 2>/dev/null | tail -n1 || true)
    [ -n "$id" ] && break
    sleep 0.5
  done
  [ -n "$id" ] || return 1
  echo "$id"
}

# Wine for the Windows steps: one fresh prefix per run (in CI_WORK), made on first use.
WINE=/usr/lib/wine/wine64
WINE_PACKAGES=(wine wine64 gcc-mingw-w64-x86-64 libgl1 libgl1-mesa-dri libvulkan1
  mesa-vulkan-drivers libxcursor1 libxi6 libxrandr2 libxrender1 libxinerama1 libxcomposite1
  libxfixes3 libxxf86vm1 libdbus-1-3 libgnutls30 fonts-wine)
ensure_wine() {
  apt_install "${WINE_PACKAGES[@]}"
  export WINEPREFIX=$CI_WORK/wineprefix WINEDEBUG=-all WINEARCH=win64
  # No Mono/Gecko prompts; no menu entries written into the host's ~/.local/share by Wine.
  export WINEDLLOVERRIDES="mscoree,mshtml,winemenubuilder.exe="
  if [ ! -e "$WINEPREFIX/.license-desk-ready" ]; then
    bash packaging/windows/wine-setup.sh "$WINEPREFIX" >/dev/null
    touch "$WINEPREFIX/.license-desk-ready"
  fi
}
# Ends the prefix's running Wine session, so the next program starts one that sees DISPLAY
# (a session begun by a CLI run without a display cannot open windows later).
wine_new_session() {
  wineserver -k 2>/dev/null || true
  wineserver -w 2>/dev/null || true
}
# The Windows path of a Unix path inside the prefix's C: drive (or any path, through Z:).
winpath() {
  local path
  path=$(realpath -m "$1")
  case "$path" in
    "$WINEPREFIX/drive_c"/*) path="C:${path#"$WINEPREFIX/drive_c"}" ;;
    *) path="Z:$path" ;;
  esac
  printf '%s' "${path//\//\\}"
}
