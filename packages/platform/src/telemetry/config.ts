import { z } from 'zod';
import { env } from '../config/index.ts';

/**
 * The standard OpenTelemetry environment variables this project reads
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/),
 * validated like every other setting. Each service spreads these into its
 * own schema, so a bad value stops the start naming the variable.
 *
 * Tracing is off unless an OTLP endpoint is set: nothing is loaded, no span
 * is made and no header is parsed, so it costs nothing when off.
 */
const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export const telemetryEnv = {
  /** `true` turns tracing off whatever else is set. */
  OTEL_SDK_DISABLED: env.bool(false).describe('`true` turns tracing off whatever else is set.'),
  /** `otlp` (what an endpoint implies) or `none`. */
  OTEL_TRACES_EXPORTER: z
    .enum(['otlp', 'none'])
    .default('otlp')
    .describe('`otlp` (what an endpoint implies) or `none` (tracing off).'),
  /** OTLP/HTTP base URL, e.g. http://collector:4318; traces go to `<it>/v1/traces`. Unset: tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url()
    .optional()
    .describe(
      'OTLP/HTTP base URL of a collector or Jaeger (traces go to `<it>/v1/traces`). Unset: tracing off, at no cost.',
    ),
  /** The full traces URL, when it is not `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url()
    .optional()
    .describe('The full traces URL, when it is not `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`.'),
  /** `key=value,key2=value2` sent with every export (e.g. an API key). */
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .optional()
    .describe('`key=value,key2=value2` sent with every export (e.g. an API key).'),
  /** Milliseconds one export may take; exports run in the background and never hold a request. */
  OTEL_EXPORTER_OTLP_TIMEOUT: env
    .int(10_000, 1)
    .describe('Milliseconds one export may take; exports run in the background and never hold a request.'),
  OTEL_TRACES_SAMPLER: z
    .enum(SAMPLERS)
    .default('parentbased_always_on')
    .describe('Which traces are kept: `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG=0.1 keeps one in ten.'),
  /** The ratio of the `*traceidratio` samplers, 0 to 1. @default 1 */
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('The ratio of the `*traceidratio` samplers, 0 to 1 (unset: 1).'),
  /** `key=value,…` added to every span's resource (e.g. deployment.environment.name=staging). */
  OTEL_RESOURCE_ATTRIBUTES: z
    .string()
    .optional()
    .describe('`key=value,…` added to every span’s resource (e.g. deployment.environment.name=staging).'),
  /** Milliseconds between batch exports. */
  OTEL_BSP_SCHEDULE_DELAY: env.int(5_000, 0).describe('Milliseconds between batch exports of spans.'),
  /** Spans waiting for export beyond this are dropped (an unreachable collector never grows memory). */
  OTEL_BSP_MAX_QUEUE_SIZE: env
    .int(2_048, 1)
    .describe('Spans waiting for export beyond this are dropped: an unreachable collector never grows memory.'),
};

export type TelemetryConfig = z.infer<z.ZodObject<typeof telemetryEnv>>;

/** The traces URL, or undefined when tracing is off. */
export function tracesEndpoint(config: TelemetryConfig): string | undefined {
  if (config.OTEL_SDK_DISABLED || config.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** `a=1,b=2` (values percent-encoded, as the specification says) → { a: '1', b: '2' }; malformed pairs are skipped. */
export function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed escape: leave the pair out rather than fail the start
    }
  }
  return out;
}
