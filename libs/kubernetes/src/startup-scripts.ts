/**
 * The two POSIX sh scripts of an environment's ConfigMap, mounted read-only at
 * {@link SCRIPTS_DIR}. Both print progress lines that start with {@link PROGRESS_PREFIX}, which
 * end up in the pod's log (GET /environments/:id/logs).
 *
 * - `setup-root.sh` runs in the `setup` init container as root, on every pod start.
 * - `startup.sh` is the main container's command, as uid 1000.
 */

/** Home of the `devpocket` user: the environment's volume is mounted here. */
export const HOME_DIR = '/home/devpocket';
/** DevPocket's own files on the volume: tmux copy, markers, tmux.conf. */
export const DEVPOCKET_DIR = `${HOME_DIR}/.devpocket`;
/** A copied tmux, first on the PATH of terminals. */
export const DEVPOCKET_BIN_DIR = `${DEVPOCKET_DIR}/bin`;
/** Shared libraries of a copied tmux (LD_LIBRARY_PATH). */
export const DEVPOCKET_LIB_DIR = `${DEVPOCKET_DIR}/lib`;
/** Terminfo entries copied for tmux (TERMINFO_DIRS). */
export const DEVPOCKET_TERMINFO_DIR = `${DEVPOCKET_DIR}/terminfo`;
/** Present once the template's startup commands have all succeeded: they do not run again. */
export const STARTUP_DONE_FILE = `${DEVPOCKET_DIR}/startup-done`;
/** Present while the container is ready for terminals (the readiness probe tests it). */
export const READY_FILE = `${DEVPOCKET_DIR}/ready`;
/** The tmux configuration written by startup.sh on every start. */
export const TMUX_CONF_FILE = `${DEVPOCKET_DIR}/tmux.conf`;
/** Where the ConfigMap (startup.sh, setup-root.sh) is mounted, read-only. */
export const SCRIPTS_DIR = '/opt/devpocket';
/** The uid and gid of the `devpocket` user. */
export const DEVPOCKET_UID = 1000;

/** Every progress line of both scripts starts with this. */
export const PROGRESS_PREFIX = 'devpocket: ';
/** The line startup.sh prints once the environment is ready. */
export const READY_LINE = `${PROGRESS_PREFIX}ready`;

/**
 * Shared libraries a base image always has; copying them onto the volume would pin the libc
 * of the day the environment was first started.
 */
const BASE_LIBRARIES = ['libc.so', 'libm.so', 'libpthread.so', 'libdl.so', 'librt.so', 'libresolv.so', 'ld-linux', 'ld-musl', 'linux-vdso'];

/**
 * setup-root.sh: as root, before the main container starts. Makes the volume the home of uid
 * 1000, and makes sure tmux is there: the image's own when it has one, else installed with the
 * image's package manager (apt-get, apk, dnf, microdnf, yum) and copied with the shared
 * libraries it links (ldd) and its terminfo entries onto the volume, since the init container's
 * filesystem is gone once it exits. Exits non-zero (the pod then shows the init container
 * failing) when tmux cannot be had.
 */
export function setupRootScript(): string {
  const skip = BASE_LIBRARIES.map((name) => `*/${name}*`).join('|');
  return `#!/bin/sh
# Written by DevPocket: prepares ${HOME_DIR} and tmux, as root, in the "setup" init container.
set -u
progress() { printf '${PROGRESS_PREFIX}%s\\n' "$*"; }

progress "[setup] preparing ${HOME_DIR} for uid ${DEVPOCKET_UID}"
mkdir -p "${DEVPOCKET_BIN_DIR}" "${DEVPOCKET_LIB_DIR}" "${DEVPOCKET_TERMINFO_DIR}" || exit 1
rm -f "${READY_FILE}"
chown ${DEVPOCKET_UID}:${DEVPOCKET_UID} "${HOME_DIR}" || exit 1
chmod 0755 "${HOME_DIR}"

if command -v tmux >/dev/null 2>&1; then
  progress "[setup] tmux is part of the image: $(command -v tmux)"
  rm -f "${DEVPOCKET_BIN_DIR}/tmux"
  rm -rf "${DEVPOCKET_LIB_DIR}" && mkdir -p "${DEVPOCKET_LIB_DIR}"
else
  progress "[setup] installing tmux"
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux
  elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache tmux
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y tmux
  elif command -v microdnf >/dev/null 2>&1; then
    microdnf install -y tmux
  elif command -v yum >/dev/null 2>&1; then
    yum install -y tmux
  else
    progress "error: tmux is not in the image and no package manager (apt-get, apk, dnf, microdnf, yum) was found"
    exit 1
  fi
  tmux_path=$(command -v tmux) || { progress "error: tmux could not be installed"; exit 1; }
  cp -f "$tmux_path" "${DEVPOCKET_BIN_DIR}/tmux" || exit 1
  rm -rf "${DEVPOCKET_LIB_DIR}" && mkdir -p "${DEVPOCKET_LIB_DIR}"
  if command -v ldd >/dev/null 2>&1; then
    for lib in $(ldd "$tmux_path" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\\//) print $i }'); do
      case "$lib" in
        ${skip}) ;;
        *) cp -fL "$lib" "${DEVPOCKET_LIB_DIR}/" ;;
      esac
    done
  else
    progress "warning: ldd is missing; tmux's shared libraries were not copied"
  fi
  for name in tmux-256color tmux screen-256color screen xterm-256color xterm; do
    for root in /usr/share/terminfo /lib/terminfo /etc/terminfo /usr/lib/terminfo; do
      letter=$(printf '%s' "$name" | cut -c1)
      if [ -f "$root/$letter/$name" ]; then
        mkdir -p "${DEVPOCKET_TERMINFO_DIR}/$letter" && cp -fL "$root/$letter/$name" "${DEVPOCKET_TERMINFO_DIR}/$letter/$name"
        break
      fi
    done
  done
  progress "[setup] tmux copied to ${DEVPOCKET_BIN_DIR}"
fi
chown -R ${DEVPOCKET_UID}:${DEVPOCKET_UID} "${DEVPOCKET_DIR}" || exit 1
progress "[setup] done"
`;
}

/**
 * startup.sh: the main container's command, as uid 1000 with HOME=${HOME_DIR}. Prints
 * `devpocket: [n/4] …` progress lines; writes the tmux configuration; runs the template's
 * startup commands in order, each with `sh -c` in HOME, unless {@link STARTUP_DONE_FILE} exists
 * (written only when every command succeeded, so a failed one runs again at the next start and
 * does not keep the environment from starting); touches {@link READY_FILE} and prints
 * `devpocket: ready`; then stays alive until SIGTERM.
 *
 * @param startupCommands the template's shell commands, each single-quoted into the script.
 */
export function startupScript(startupCommands: readonly string[]): string {
  const total = startupCommands.length;
  const commands = startupCommands.map((command, index) => `run_startup_command ${index + 1} ${total} ${shellQuote(command)}`).join('\n');
  return `#!/bin/sh
# Written by DevPocket: the main process of the "environment" container, as uid ${DEVPOCKET_UID}.
set -u
progress() { printf '${PROGRESS_PREFIX}%s\\n' "$*"; }
stop() {
  rm -f "${READY_FILE}"
  progress "stopping"
  # $! is the keep-alive sleep as soon as it is spawned, even when the signal comes first.
  if [ -n "\${!:-}" ]; then kill "$!" 2>/dev/null; fi
  exit 0
}
trap stop TERM INT HUP

progress "[1/4] preparing ${HOME_DIR}"
mkdir -p "${DEVPOCKET_DIR}" || { progress "error: ${HOME_DIR} is not writable by uid $(id -u)"; exit 1; }
rm -f "${READY_FILE}"
export PATH="${DEVPOCKET_BIN_DIR}:$PATH"
if [ ! -f "$HOME/.bashrc" ]; then
  # Created once and left to the user: uid ${DEVPOCKET_UID} has no passwd entry, so the image's prompt (\\u) would read "I have no name!".
  cat > "$HOME/.bashrc" <<'BASHRC'
# Created by DevPocket; yours to edit.
PS1='devpocket:\\w\\$ '
BASHRC
fi

progress "[2/4] checking tmux"
if ! command -v tmux >/dev/null 2>&1; then
  progress "error: tmux is not available (the setup container should have installed it)"
  exit 1
fi
shell=/bin/sh
for candidate in /bin/bash /usr/bin/bash /usr/local/bin/bash; do
  if [ -x "$candidate" ]; then shell=$candidate; break; fi
done
terminal=screen
for name in tmux-256color screen-256color; do
  letter=$(printf '%s' "$name" | cut -c1)
  for root in "${DEVPOCKET_TERMINFO_DIR}" /usr/share/terminfo /lib/terminfo /etc/terminfo /usr/lib/terminfo; do
    if [ -f "$root/$letter/$name" ]; then terminal=$name; break 2; fi
  done
done
cat > "${TMUX_CONF_FILE}" <<TMUXCONF
# Written by DevPocket on every start.
set -g status off
set -g window-size latest
setw -g aggressive-resize on
set -g history-limit 10000
set -g default-terminal $terminal
set -g default-shell $shell
set -g default-command "exec $shell"
set -s escape-time 0
TMUXCONF

progress "[3/4] running startup commands"
failed=0
run_startup_command() {
  progress "startup command $1/$2: $3"
  (cd "$HOME" && sh -c "$3") </dev/null 2>&1
  status=$?
  if [ "$status" -ne 0 ]; then
    progress "startup command $1/$2 failed with exit code $status"
    failed=$((failed + 1))
  fi
}
if [ -f "${STARTUP_DONE_FILE}" ]; then
  progress "startup commands already ran ($(cat "${STARTUP_DONE_FILE}"))"
else
${commands ? indent(commands, '  ') : '  :'}
  if [ "$failed" -eq 0 ]; then
    date -u '+%Y-%m-%dT%H:%M:%SZ' > "${STARTUP_DONE_FILE}"
    progress "startup commands done (${total})"
  else
    progress "$failed of ${total} startup command(s) failed; they run again at the next start"
  fi
fi

progress "[4/4] starting"
touch "${READY_FILE}" || { progress "error: cannot write ${READY_FILE}"; exit 1; }
progress "ready"
# A trapped signal interrupts wait at once (sleep in the foreground would delay it). The sleep
# holds none of our output, so a signal landing between its fork and $! leaves nothing waiting on it.
while :; do
  sleep 3600 </dev/null >/dev/null 2>&1 &
  wait "$!"
done
`;
}

/** A POSIX shell single-quoted word: no expansion inside; a quote is closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
