import type { Logger } from '../logger/logger.ts';

/**
 * Runs a started program until SIGINT/SIGTERM, then stops it once, in order.
 * The only place that installs signal handlers, so shutdown never races.
 */
export function runUntilSignal(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** Prints a start-up failure (bad config, port in use) as one readable message, not a stack. */
export function failStart(error: unknown, logger?: Logger): never {
  const message = error instanceof Error ? error.message : String(error);
  if (logger) logger.fatal({ err: error }, 'failed to start');
  process.stderr.write(`\nFailed to start: ${message}\n`);
  process.exit(1);
}
