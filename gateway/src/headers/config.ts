import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * Header propagation rules (gateway/headers.yaml, HEADERS_CONFIG), validated
 * at start: a bad file stops the gateway with a message naming the key.
 */
export const headersEnv = {
  HEADERS_CONFIG: z
    .string()
    .default(fileURLToPath(new URL('../../headers.yaml', import.meta.url)))
    .describe('YAML file of which request headers each subgraph receives, and which answer headers reach the client.'),
};

/**
 * Never propagated, whatever the file says: credentials (a subgraph learns
 * the caller from the signed identity only), hop-by-hop and framing headers,
 * and the signature headers the gateway sets itself.
 */
const FORBIDDEN = [
  /^authorization$/,
  /^proxy-authorization$/,
  /^cookie$/,
  /^set-cookie$/,
  /^host$/,
  /^connection$/,
  /^keep-alive$/,
  /^transfer-encoding$/,
  /^te$/,
  /^trailer$/,
  /^upgrade$/,
  /^content-length$/,
  /^content-type$/,
  /^content-encoding$/,
  /^x-storefront-/,
  /^x-request-id$/,
  /^x-forwarded-/,
  /^forwarded$/,
];

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a header name')
  .transform((name) => name.toLowerCase())
  .refine((name) => !FORBIDDEN.some((pattern) => pattern.test(name)), {
    message: 'may not be propagated (credentials, hop-by-hop or the gateway’s own headers)',
  });

const fileSchema = z
  .object({
    request: z
      .object({
        all: z.array(headerName).default([]),
        subgraphs: z.record(z.string(), z.array(headerName)).default({}),
      })
      .strict()
      .default({ all: [], subgraphs: {} }),
    response: z.array(headerName).default([]),
  })
  .strict();

export type HeaderRulesFile = z.infer<typeof fileSchema>;

export function readHeaderRules(path: string, subgraphs: readonly string[]): HeaderRulesFile {
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8')) ?? {};
  } catch (error) {
    throw new Error(`HEADERS_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`HEADERS_CONFIG: ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  for (const name of Object.keys(parsed.data.request.subgraphs)) {
    if (!subgraphs.includes(name))
      throw new Error(`HEADERS_CONFIG: ${path}: request.subgraphs.${name}: no such subgraph (${subgraphs.join(', ')})`);
  }
  return parsed.data;
}
