import { z } from 'zod';

/**
 * Reads typed configuration from the environment once, at start.
 *
 * Every service describes its settings as a zod object whose keys are the
 * environment variable names. A bad or missing value stops the start with a
 * message that names the key, instead of failing later in some resolver.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings mean "unset": `FOO= npm start` should fall back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return parsed.data;
}

const boolean = () =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Reusable field parsers, so every service spells its env the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  url: () => z.url(),
  bool: (fallback: boolean) => boolean().default(fallback),
  /** A boolean whose absence means "decide from other settings" (undefined), not false. */
  optionalBool: () => boolean().optional(),
  /** Comma-separated list, e.g. KAFKA_BROKERS=a:9092,b:9092. */
  list: () =>
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1)),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
