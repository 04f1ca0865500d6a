import { GATEWAY_LABELS, type RunningGatewayProcess } from '../gateways.ts';
import type { GatewayId } from '../options.ts';
import { canonical, type Reference } from './check.ts';
import { publicRequests } from './operations.ts';
import type { MixData } from './seed.ts';

/**
 * The reference answers, taken once before the run: every public request of
 * the mix (home page, each category page, each search term, each product
 * page) asked of each gateway, each answer checked to be data without errors,
 * and every gateway's data checked to equal the first gateway's. During the
 * run, a public answer must equal its reference, or the run fails.
 */
export async function takeReferences(
  gateways: RunningGatewayProcess[],
  data: MixData,
): Promise<{ references: Map<GatewayId, Reference>; count: number }> {
  const requests = publicRequests(data);
  const customer = data.customers[0]!;
  const references = new Map<GatewayId, Reference>();
  let first: { id: GatewayId; canonical: Map<string, string> } | undefined;
  for (const gateway of gateways) {
    const reference: Reference = { text: new Map(), canonical: new Map() };
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const request = requests[i]!;
        const res = await fetch(gateway.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${customer.token}`,
            'x-bench-customer-id': customer.id,
          },
          body: request.body,
        });
        const text = await res.text();
        const json = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
        if (res.status !== 200 || json.errors?.length || !json.data)
          throw new Error(
            `reference ${request.key} on ${GATEWAY_LABELS[gateway.id]}: expected data without errors, got HTTP ${res.status}: ${text.slice(0, 400)}`,
          );
        reference.text.set(request.key, text);
        reference.canonical.set(request.key, canonical(json.data));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (!first) first = { id: gateway.id, canonical: reference.canonical };
    else
      for (const [key, value] of reference.canonical)
        if (first.canonical.get(key) !== value)
          throw new Error(
            `reference ${key}: ${GATEWAY_LABELS[gateway.id]} answers other data than ${GATEWAY_LABELS[first.id]}; the mix would compare different work.\n` +
              `  ${first.id}: ${first.canonical.get(key)?.slice(0, 400)}\n  ${gateway.id}: ${value.slice(0, 400)}`,
          );
    references.set(gateway.id, reference);
  }
  return { references, count: requests.length };
}
