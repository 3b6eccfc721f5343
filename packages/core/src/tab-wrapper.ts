import { join } from "node:path";
import { shQuote } from "./quote.js";
import { type LogWriterMode, logWriterScript, tabLogName } from "./tab-log.js";

/** One command for {@link posixTabScript}: a tab's first pane, or one of its further panes. */
export interface WrappedTab {
  /** The tab's position in its layout. */
  index: number;
  /** Which pane of the tab (0, its first, unless it has further panes). */
  pane?: number | undefined;
  /** Its number in the session's script, records and logs (default `index`; see {@link sessionSlots}). */
  slot?: number | undefined;
  /** Stay as an interactive shell after the command whatever the exit mode (a pane without a command). */
  keep?: boolean | undefined;
  tabName: string;
  command: string;
  /** Absolute directory the command runs in; the wrapper enters it itself. */
  startDir: string;
  /** Environment variables for the command (the session's and the tab's). */
  env?: Readonly<Record<string, string>> | undefined;
  /** The program that interprets the command (default: the user's login shell, `$SHELL`). */
  shell?: string | undefined;
  /** Interpret it as an interactive shell does (`-i`): the rc file is read, its aliases and functions work. */
  interactive?: boolean | undefined;
  /** Run a failing command up to `max` more times, `backoffSeconds` apart. */
  retry?: { max: number; backoffSeconds?: number | undefined } | undefined;
}

/** Options of {@link posixTabScript}. */
export interface PosixTabScriptOptions {
  /** Title line of the script. */
  title: string;
  /** The session's name (in the events the tabs write). */
  session?: string;
  /** Directory the records go to (on the machine where the tabs run). */
  runDir: string;
  tabs: readonly WrappedTab[];
  /** After the command ends, start an interactive shell so the tab stays usable (default true). */
  keepShell?: boolean;
  /** Extra POSIX sh run after the record is written; `$mc_code` holds the exit status. */
  onExit?: string;
  /** Extra POSIX sh run first, before the tab's start is recorded (a backend waiting for its pane). */
  onStart?: string;
  /** Which program the `log` mode runs (found once per machine by the backend; default: ask each time). */
  logWriter?: LogWriterMode;
}

/**
 * The line the wrapper prints in a tab before it retries its command (`mc: retrying, attempt 2 (exit 1)`):
 * a readiness pattern counts only what the tab printed after the last one.
 */
export const RETRY_MARK = "mc: retrying, attempt ";

/** The environment variable every process of a tab inherits: `<runDir>#<index>` (see {@link tabMarker}). */
export const TAB_MARKER_VAR = "MC_TAB";

/** Name of the events file the tabs of a session append to (NDJSON, one event per line). */
export const EVENTS_FILE = "events.ndjson";

/**
 * The marker of tab `index` of the session whose records go to `runDir`. Every process a tab starts
 * inherits it in its environment, which survives `nohup`, `setsid` and a new process group (not `env -i`):
 * a kill finds what a tab left running by this marker in `/proc/<pid>/environ`.
 */
export function tabMarker(runDir: string, index: number): string {
  return `${runDir}#${index}`;
}

/** File the command of tab `index` is read from (mode 0600: the command may hold secrets). */
export function commandFileName(index: number): string {
  return `cmd-${index}`;
}

/** The command files of a session's tabs, written with its artefacts (mode 0600). */
export function commandFiles(
  runDir: string,
  tabs: readonly WrappedTab[],
): { path: string; content: string }[] {
  return tabs.map((t) => ({
    path: join(runDir, commandFileName(t.slot ?? t.index)),
    content: `${t.command}\n`,
  }));
}

/** What one tab's `case` entry sets: its directory, shell, environment, retries and event fields. */
function caseEntry(t: WrappedTab, session: string | undefined): string {
  const fields = JSON.stringify({
    ...(session === undefined ? {} : { session }),
    tab: t.tabName,
    index: t.index,
    ...(t.pane ? { pane: t.pane } : {}),
  }).slice(1, -1);
  const lines = [
    `  ${t.slot ?? t.index}) # ${t.tabName.replace(/[\r\n]/g, " ")}${t.pane ? ` (pane ${t.pane})` : ""}`,
    `    mc_cwd=${shQuote(t.startDir)}`,
    `    mc_cmd=${shQuote(t.command)}`,
    `    mc_ev=${shQuote(fields)}`,
  ];
  if (t.shell) lines.push(`    mc_sh=${shQuote(t.shell)}`);
  if (t.interactive) lines.push("    mc_i=-i");
  if (t.keep) lines.push("    mc_keep=1");
  if (t.retry?.max) lines.push(`    mc_retry=${t.retry.max} mc_backoff=${t.retry.backoffSeconds ?? 0}`);
  // The tab's environment reaches its command and the shell kept after it (mc_env runs in the command's
  // subshell, and just before that shell): a PATH, SHELL or TMUX_PANE of the layout never changes what
  // the wrapper itself runs or marks.
  const env = Object.entries(t.env ?? {});
  if (env.length)
    lines.push(`    mc_env() { export ${env.map(([k, v]) => `${k}=${shQuote(v)}`).join(" ")}; }`);
  lines[lines.length - 1] += " ;;";
  return lines.join("\n");
}

/**
 * How the wrapper tells the time, in seconds to the millisecond, without a process where it can (a `date`
 * per tab was a third of the wrapper's cost at launch): bash's `$EPOCHREALTIME`; on Linux, `/proc/uptime`
 * (read by the builtin, to 10 ms) plus this boot's offset from the epoch, which one `date` per run directory,
 * boot and hour finds and leaves in `clock` for the other tabs (`<boot id> <offset ms> <uptime cs>`: an hour
 * old, it is found again, so a step of the system clock is followed within the hour; a tab keeps the offset
 * it started with, so its end is never before its start); else `date`, to the millisecond where it has `%N`
 * (GNU, busybox), whole seconds otherwise (BSD/macOS). Sets `$mc_t`.
 */
const CLOCK = `mc_date() {
  mc_t=$(PATH=$mc_path date +%s.%N 2>/dev/null)
  case $mc_t in *[!0-9.]* | *. | .* | '') mc_t=$(PATH=$mc_path date +%s) ;; *.????*) mc_f=\${mc_t#*.}; mc_t=\${mc_t%%.*}.\${mc_f%"\${mc_f#???}"} ;; esac
}
mc_up() {
  read -r mc_u mc_x </proc/uptime || return 1
  case $mc_u in *[!0-9.]* | *.*.* | .*) return 1 ;; *.??) mc_u=$((\${mc_u%.*} * 100 + 1\${mc_u#*.} - 100)) ;; *) return 1 ;; esac
}
mc_clock() {
  mc_off=
  [ -n "$mc_bash" ] && [ -n "\${EPOCHREALTIME-}" ] && return 0
  [ -r /proc/uptime ] && [ -r /proc/sys/kernel/random/boot_id ] && read -r mc_boot </proc/sys/kernel/random/boot_id || return 0
  mc_up || return 0
  if [ -f "$mc_dir/clock" ] && read -r mc_b mc_o mc_at <"$mc_dir/clock" && [ "$mc_b" = "$mc_boot" ]; then
    case $mc_o$mc_at in
      '' | *[!0-9]*) ;;
      *) [ "$mc_u" -ge "$mc_at" ] && [ $((mc_u - mc_at)) -lt 360000 ] && mc_off=$mc_o && return 0 ;;
    esac
  fi
  mc_date
  case $mc_t in
    *.???) mc_up || return 0
      mc_off=$((\${mc_t%.*}000 + 1\${mc_t#*.} - 1000 - mc_u * 10))
      # Only a regular file (or none): a FIFO in its place would block this write for ever.
      { [ ! -e "$mc_dir/clock" ] || [ -f "$mc_dir/clock" ]; } && printf '%s %s %s\\n' "$mc_boot" "$mc_off" "$mc_u" >"$mc_dir/clock" 2>/dev/null ;;
  esac
  return 0
}
mc_now() {
  if [ -n "$mc_bash" ]; then
    case $EPOCHREALTIME in
      *[!0-9.,]* | '') ;;
      *[.,][0-9][0-9][0-9]*) mc_f=\${EPOCHREALTIME#*[.,]}; mc_t=\${EPOCHREALTIME%%[.,]*}.\${mc_f%"\${mc_f#???}"}; return ;;
    esac
  fi
  if [ -n "$mc_off" ] && mc_up; then
    mc_u=$((mc_off + mc_u * 10))
    mc_f=$((mc_u % 1000 + 1000))
    mc_t=$((mc_u / 1000)).\${mc_f#1}
    return
  fi
  mc_date
}`;

/**
 * A POSIX sh script that runs one tab's command (`sh script.sh <index>`): it enters the tab's start
 * directory itself (a directory it cannot enter fails the tab visibly, exit 126, and the command never
 * runs elsewhere), records pid, start, end and exit status, and runs the command through the user's shell
 * (`$SHELL`, or the tab's `shell`: pipes, `&&`, `;`, redirections and env assignments work), up to `retry`
 * more times while it fails; then an interactive shell stays in the tab (unless keepShell is off). Every
 * command and directory is embedded as one single-quoted word, so no field is ever parsed by anything but
 * the tab's own shell. Each start, retry and end is also appended to the session's events file.
 *
 * The command is never on a command line: it is read from `cmd-<index>` in the run directory (mode 0600,
 * written with the artefacts; the wrapper writes it only if it is missing), so `ps` shows no inline secret.
 * Reading a file also makes a command the shell cannot parse fail (fish 3.6 exits 0 for `fish -c` with a
 * syntax error, 127 for the same text in a file). A layout written for POSIX sh needs a POSIX shell.
 * Every process of the tab carries {@link TAB_MARKER_VAR} (see {@link tabMarker}).
 */
export function posixTabScript(o: PosixTabScriptOptions): string {
  const keep = o.keepShell ?? true;
  // The shell kept in the tab has the tab's environment, as the command had (review H50-9: a tmuxp
  // `environment` never reached a blank pane's shell); it is the shell the wrapper was given, not a SHELL
  // of the layout's. (Its output goes to the tab's log too: a mark ending the log there lost what the
  // command's background processes printed after it, review H52-1.)
  const shell = `{ mc_ks=\${SHELL:-/bin/sh}; mc_env; exec "$mc_ks"; }`;
  const after = `${o.onExit ?? ":"}
trap - INT QUIT TERM USR1 USR2
${keep ? shell : `[ -n "$mc_keep" ] && ${shell}\nexit "$mc_code"`}`;
  const cases = o.tabs.map((t) => caseEntry(t, o.session)).join("\n");
  return `#!/bin/sh
# ${o.title.replace(/[\r\n]/g, " ")}
# Generated by mc. Each tab runs: sh <this file> <tab index> [<first attempt number> (a rerun)]
mc_dir=${shQuote(o.runDir)}
# sh <this file> log <n>: the log writer of command n (tmux's pipe-pane feeds it the pane's output).
if [ "$1" = log ]; then
  case "$2" in '' | *[!0-9]*) exit 2 ;; esac
  ${logWriterScript(`"$mc_dir/${tabLogName(0).replace("0", "$2")}"`, undefined, o.logWriter).join("\n  ")}
fi
mc_sh= mc_i= mc_retry=0 mc_backoff=0 mc_keep= mc_path=$PATH
mc_env() { :; }
# Decided before the tab's environment is exported: a variable of the layout cannot pose as bash's clock.
mc_bash=\${BASH_VERSION:+1}
case "$1" in
${cases}
  *) echo "mc: no tab '$1' in this script" >&2; exit 2 ;;
esac
mc_rec="$mc_dir/tab-$1.json"
# A record with no end, of this attempt or a later one: another wrapper started this tab and has not said
# it ended (a pane respawned by hand while its command ran or waited to retry). Its hang-up writes that end
# in a moment: wait for it (a second at most) rather than write over it, then refuse below as for any
# ended tab. One that never writes it is still running (a second copy of the tab) or was killed outright.
if [ -f "$mc_rec" ] && read -r mc_l <"$mc_rec"; then
  case $mc_l in *'"end":'*) ;; *)
    mc_a=\${mc_l##*'"attempt":'} mc_a=\${mc_a%%[!0-9]*}
    case "$2" in '' | *[!0-9]*) mc_b=0 ;; *) mc_b=$2 ;; esac
    if [ -n "$mc_a" ] && [ "$mc_a" -ge "$mc_b" ]; then
      mc_i=0
      while [ $mc_i -lt 20 ]; do
        read -r mc_l <"$mc_rec" 2>/dev/null
        case $mc_l in *'"end":'*) break ;; esac
        sleep 0.05 2>/dev/null || sleep 1
        mc_i=$((mc_i + 1))
      done
      case $mc_l in *'"end":'*) ;; *)
        mc_p=\${mc_l#*'"pid":'} mc_p=\${mc_p%%[!0-9]*}
        if [ -n "$mc_p" ] && kill -0 "$mc_p" 2>/dev/null; then
          echo "mc: this tab is already running (pid $mc_p)" >&2
        else
          echo "mc: this tab was started before and did not record its end; sessions rerun starts it again" >&2
        fi
        ${keep ? shell : `[ -n "$mc_keep" ] && ${shell}\n      exit 2`} ;;
      esac
    fi ;;
  esac
fi
# A final record and no later attempt number: this tab's run is over (zellij resurrecting mc's session, a
# pane respawned by hand, a rerun's pane respawned). Running it again would overwrite the tab's outcome
# under a run that has ended. The pane stays, as the ended tab's did, so the message is seen.
if [ -f "$mc_rec" ] && read -r mc_l <"$mc_rec"; then
  case $mc_l in *'"end":'*)
    mc_a=\${mc_l##*'"attempt":'} mc_a=\${mc_a%%[!0-9]*}
    case "$2" in '' | *[!0-9]*) mc_a=x ;; esac
    if [ "$mc_a" = x ] || { [ -n "$mc_a" ] && [ "$mc_a" -ge "$2" ]; }; then
      echo "mc: this tab has ended in its run; sessions rerun starts it again" >&2
      ${keep ? shell : `[ -n "$mc_keep" ] && ${shell}\n      exit 2`}
    fi ;;
  esac
fi
mc_cf="$mc_dir/${commandFileName(0).replace("0", "$1")}"
[ -f "$mc_cf" ] || (umask 077 && printf '%s\\n' "$mc_cmd" >"$mc_cf") || { echo "mc: cannot write $mc_cf" >&2; exit 2; }
mc_put() { printf '%s\\n' "$1" >"$mc_rec.tmp.$$" && PATH=$mc_path mv -f "$mc_rec.tmp.$$" "$mc_rec"; }
mc_event() { printf '{"type":"%s","t":%s,%s%s}\\n' "$1" "$2" "$mc_ev" "$3" >>"$mc_dir/${EVENTS_FILE}"; }
${
  o.onStart
    ? `${o.onStart}
`
    : ""
}${CLOCK}
mc_clock
mc_now; mc_start=$mc_t
case "$2" in ''|*[!0-9]*) mc_try=1 ;; *) mc_try=$2 ;; esac
mc_n=1
# The start record is written in place (one small write; a reader that catches it half-written sees no
# record yet, i.e. "pending"); the end record replaces it atomically.
# With the pid, the machine's uptime (1/100 s) as this shell writes its start: a process holding that pid
# now that started later is another one, whatever the wall clock does (review H77-2: a pid reused read as
# the tab). /proc/uptime is a short read; the shell's own /proc/$$/stat line costs ten times more.
mc_tk=
if [ -r /proc/uptime ] && mc_up; then mc_tk="\\"up\\":$mc_u,"; fi
printf '%s\\n' "{\\"v\\":1,\\"pid\\":$$,$mc_tk\\"start\\":$mc_start,\\"attempt\\":$mc_try}" >"$mc_rec"
mc_end() { mc_now; mc_put "{\\"v\\":1,\\"pid\\":$$,$mc_tk\\"start\\":$mc_start,\\"end\\":$mc_t,\\"attempt\\":$mc_try,$1}"; }
export ${TAB_MARKER_VAR}="$mc_dir#$1"
if ! cd -- "$mc_cwd" 2>/dev/null; then
  printf 'mc: cannot enter the start directory %s; the command did not run\\n' "$mc_cwd" >&2
  mc_end '"exit":126,"error":"startDir"'
  mc_event tab-exited "$mc_t" ',"exitCode":126,"reason":"start directory"'
  mc_code=126
  ${after.replace(/\n/g, "\n  ")}
fi
mc_event tab-started "$mc_start" ",\\"attempt\\":$mc_try"
# Whether this tab's wrapper ($$) is gone or going: only then is a signal to the subshell the tab's end. A
# closing tab hangs up the wrapper first and the subshell as the wrapper exits; a command that signals its
# own parent (\`kill $PPID\`) reaches the subshell alone, and the wrapper, living on, records or retries.
mc_gone() {
  mc_k=\${1:-6}
  while [ "$mc_k" -gt 0 ]; do
    mc_k=$((mc_k - 1))
    if [ -d /proc/self ]; then
      read -r mc_s 2>/dev/null <"/proc/$$/stat" || return 0
      mc_s=\${mc_s##*) }
    else
      mc_s=$(PATH=$mc_path ps -o stat= -p "$$" 2>/dev/null) || return 0
    fi
    case $mc_s in '' | [ZX]*) return 0 ;; esac
    [ "$mc_k" -gt 0 ] || return 1
    PATH=$mc_path sleep 0.05 2>/dev/null || PATH=$mc_path sleep 1
  done
  return 1
}
# Whether the tab's record is still this wrapper's: a tab replaced since (a merge restarting it, a rerun)
# has a record of its new wrapper, or none yet, which a late hang-up of the old one must not overwrite.
mc_mine() {
  read -r mc_l 2>/dev/null <"$mc_rec" || return 1
  case $mc_l in *"\\"pid\\":$$,"*) return 0 ;; *) return 1 ;; esac
}
# This shell is the tab's controlling process and keeps the default SIGHUP action: when the tab goes
# (kill-session, a dead server), it dies at once and the kernel hangs up the foreground group, so the
# command is never left running without its tab. The subshell records a hang-up or TERM. A TERM, USR1 or
# USR2 to the whole group (kill 0, as the cleanup idiom trap "kill 0" EXIT does) ends the command, not this
# shell: the tab stays, its end is recorded (a command so stopped is not retried). (Caught, not ignored:
# its children start with the default handlers.)
trap ':' INT QUIT TERM USR1 USR2
# The recorder's traps, set in each subshell: the command's and the retry backoff's (a tab closed while it
# waits to retry ends too, and says so). A HUP or TERM while the wrapper lives is not the tab's end (the
# command signalled its parent, kill $PPID): the trap runs once the command has ended (POSIX defers it),
# and the subshell ends with the command's own status.
mc_traps() {
  trap 'mc_gone && { mc_mine && { mc_end "\\"signal\\":\\"HUP\\""; mc_event tab-killed "$mc_t" ",\\"signal\\":\\"SIGHUP\\""; }; exit 129; }' HUP
  trap 'mc_gone && { mc_mine && { mc_end "\\"signal\\":\\"TERM\\""; mc_event tab-killed "$mc_t" ",\\"signal\\":\\"SIGTERM\\""; }; exit 143; }' TERM
  # Ctrl-C and Ctrl-\\ end the command, not the recorder (the command starts with the default handlers);
  # nor does a stray USR1/USR2, which would leave the command running unrecorded.
  trap ':' INT QUIT USR1 USR2
}
while :; do
  (
    mc_traps
    mc_run=\${mc_sh:-\${SHELL:-/bin/sh}}
    mc_env
    if [ -n "$mc_i" ]; then
      # An interactive shell, for the rc file's aliases and functions (review H31-4). A POSIX shell reads
      # the command with -c, as a whole: Ctrl-C ends all of it, where an interactive shell reading a file
      # goes on to its next line (H33-2). Job control off (+m: zsh and sh never take the terminal from the
      # tab's process group, so the tab's hang-up reaches all of it, also during the rc file, and the
      # terminal is the tab's again after: H34-9, H35-2, H35-5; bash takes it at start whatever it is
      # told, and gives it back: set +m keeps its command in the group the hang-up reaches). INT, QUIT,
      # TERM end the shell with the signal's status, as they end a plain tab (H34-2), also while the rc file
      # runs (H36-2: the status it leaves, 130 or 131, is looked at first); Ctrl-Z does nothing,
      # as in a plain tab (it stopped the command for good under bash, and zsh ran on past it: H34-1,
      # H35-3). The mark, named by $0 and this wrapper's pid (an rc file's set -- cannot move it, an old
      # wrapper's is another file: H34-4, H34-10), says the rc file let the command start: one that ends
      # the shell first is no success (H33-3). Builtins are called through builtin/command, past the rc
      # file's aliases and functions of their names (H34-5; not past a function named builtin or command
      # itself: an rc file can always take over its own shell). $0 is the command file and there are no
      # arguments, as without -i.
      case \${mc_run##*/} in
        bash | zsh) mc_bi='\\builtin' ;;
        sh | dash | ash | ksh | ksh93 | mksh | pdksh | posh | yash) mc_bi='\\command' ;;
        *) mc_bi= ;;
      esac
      if [ -n "$mc_bi" ]; then
        mc_m="$mc_cf.started.$$"
        PATH=$mc_path rm -f -- "$mc_m"
        mc_tt=
        [ -t 0 ] && mc_tt=1
        "$mc_run" -i +m -c "case \\$? in 130) $mc_bi exit 130 ;; 131) $mc_bi exit 131 ;; esac; $mc_bi set +m; $mc_bi trap '' TSTP; $mc_bi trap '$mc_bi exit 130' INT; $mc_bi trap '$mc_bi exit 131' QUIT; $mc_bi trap '$mc_bi exit 143' TERM; $mc_bi : > \\"\\$0.started.$$\\"; $mc_bi . \\"\\$0\\"" "$mc_cf"
        mc_c=$?
        # The tab closed: its terminal hung up (it reads as no terminal then), or, without one, the wrapper
        # is gone. Its end, as the HUP trap writes it for a plain tab, whose subshell the hang-up reaches.
        if [ "$mc_c" -ne 0 ] && { { [ -n "$mc_tt" ] && [ ! -t 0 ]; } || mc_gone 1; }; then
          PATH=$mc_path rm -f -- "$mc_m"
          mc_mine && { mc_end '"signal":"HUP"'; mc_event tab-killed "$mc_t" ',"signal":"SIGHUP"'; }
          exit 129
        fi
        if [ ! -e "$mc_m" ]; then
          # Ctrl-C or Ctrl-\\ while the rc file ran: the shell ended (zsh) or is told so by the status the rc
          # file was left with (bash, sh: the case at the head of the -c string; the rc file was abandoned,
          # and the command ran without it: H36-2). Killed, as a plain tab is, not an rc file that exits.
          case $mc_c in 130 | 131) exit "$mc_c" ;; esac
          printf 'mc: %s -i ended (exit %s) before the command started: its rc file exits\\n' "$mc_run" "$mc_c" >&2
          exit 126
        fi
        PATH=$mc_path rm -f -- "$mc_m"
        exit "$mc_c"
      fi
    fi
    # Quoted: the tab's environment is exported by now, and an IFS of its own splits an unquoted -i
    # (review H67-11: fish read a script named "-", exit 127).
    "$mc_run" \${mc_i:+"$mc_i"} "$mc_cf"
  )
  mc_code=$?
  [ "$mc_code" -ne 0 ] && [ "$mc_n" -le "$mc_retry" ] || break
  # Stopped, not failed: a command ended by Ctrl-C, Ctrl-\\, a hang-up, TERM or KILL (what a user sends to
  # stop it) is not run again (review H67-1: each Ctrl-C ran it again).
  case $mc_code in 129 | 130 | 131 | 137 | 143) break ;; esac
  mc_try=$((mc_try + 1)) mc_n=$((mc_n + 1))
  mc_now
  mc_event tab-retried "$mc_t" ",\\"attempt\\":$mc_try,\\"exitCode\\":$mc_code"
  # Said in the tab (and so in its log, where a readiness pattern is matched only after the last such
  # line: an attempt that failed is not ready, review H37-6).
  printf '%s%s (exit %s)\\n' '${RETRY_MARK}' "$mc_try" "$mc_code" >&2
  # A Ctrl-C or kill while it waits ends the tab, with the signal's status, instead of cutting the wait
  # short (review H67-1: the next attempt started at once).
  (mc_traps; sleep "$mc_backoff") || {
    mc_code=$?
    break
  }
done
mc_end "\\"exit\\":$mc_code"
mc_event tab-exited "$mc_t" ",\\"exitCode\\":$mc_code"
${after}
`;
}
