import type { Logger } from '../logger/logger.ts';

/**
 * Runs a started program until SIGINT/SIGTERM, then stops it once, in order.
 * The only place that installs signal and crash handlers, so shutdown never races.
 *
 * A bug that escapes every guard (an uncaught exception, an unhandled
 * rejection) leaves the process in a state nobody can vouch for: it is logged
 * at fatal with its stack, the process drains as on SIGTERM (requests in
 * flight finish, consumers commit) and exits 1, for its supervisor (the
 * launcher, Kubernetes) to start a fresh one. A client cannot choose this:
 * every handler on the HTTP and WebSocket path answers its own failures.
 */
export function runUntilSignal(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  const crash = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error, kind }, 'a bug escaped every guard; draining, then exiting for a fresh start');
    shutdown(kind, 1);
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));
}

/** Prints a start-up failure (bad config, port in use) as one readable message, not a stack. */
export function failStart(error: unknown, logger?: Logger): never {
  const message = error instanceof Error ? error.message : String(error);
  if (logger) logger.fatal({ err: error }, 'failed to start');
  process.stderr.write(`\nFailed to start: ${message}\n`);
  process.exit(1);
}
