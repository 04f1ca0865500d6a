import { env } from '@storefront/platform/config';
import { z } from 'zod';

/** Paths the gateway already serves: the metrics path must not shadow them. */
const TAKEN_PATHS = ['/graphql', '/healthz', '/readyz'];

/** Prometheus metrics settings of the gateway (spread into `gatewayConfigSchema`). */
export const metricsEnv = {
  METRICS: env.bool(true).describe('Serve Prometheus metrics at METRICS_PATH.'),
  METRICS_PATH: z
    .string()
    .regex(/^\/[\w./-]*$/, 'must be a path such as /metrics')
    .refine((path) => !TAKEN_PATHS.includes(path), { message: `must not be one of ${TAKEN_PATHS.join(', ')}` })
    .default('/metrics')
    .describe('Path of the Prometheus metrics.'),
  /**
   * Serve the metrics on this port (on HOST) instead of the public one, so
   * only the cluster's scraper reaches them (deploy/k8s sets it). Unset: the
   * public port serves them too (development, the benchmark).
   */
  METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe(
      "Serve the metrics on this port (on HOST) only, so only the cluster's scraper reaches them. Unset: on the gateway port.",
    ),
  METRICS_MAX_OPERATION_NAMES: env
    .int(100, 0)
    .describe(
      "Operation names that get metric series of their own, first come first served; later names are counted as `other`. The trusted documents' operations (TRUSTED_DOCUMENTS) always have their own, on top of these.",
    ),
  METRICS_MAX_CLIENTS: env
    .int(50, 0)
    .describe(
      'Client apps (apollographql-client-name and -version) that get metric series of their own, first come first served; later ones are counted as `other`.',
    ),
};
