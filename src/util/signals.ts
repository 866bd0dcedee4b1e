import { constants } from 'node:os';

/** The shell's exit code for a process ended by `signal` (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * The signals that stop a run gracefully (flushed, checkpointed, resumable): Ctrl-C; kill, systemd,
 * Kubernetes; and a closed terminal or ssh session, which sends SIGHUP.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The first of SIGINT and SIGTERM to arrive: how a server run from the command line is told to close. */
export function nextCloseSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}

/**
 * A reader that went away (`tunelab run … | head -1`, a closed terminal) is no reason to stop
 * working: write errors on stdout and stderr (EPIPE; EIO on a hung-up terminal) are ignored, and
 * the run goes on writing its files.
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
    });
  }
}
