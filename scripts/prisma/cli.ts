// Shared entry-point behaviour for the scripts in this folder.
import { SchemaEngineError } from './engine.ts';
import { UsageError } from './services.ts';

/** Runs `main`, turning errors into a message and exit code 1 (usage and schema mistakes without a stack). */
export function runCli(main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof SchemaEngineError) {
        console.error(/^error\b/i.test(error.message) ? error.message : `error: ${error.message}`);
      } else {
        console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      }
      process.exitCode = 1;
    },
  );
}
