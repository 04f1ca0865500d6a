import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/**
 * One measured run: autocannon's load against one gateway, and the CPU time
 * and memory of the gateway's process (with any children) around it, read
 * from /proc. The subgraphs' and the load generator's CPU are recorded too:
 * on a small machine all of them share the same cores.
 */
export interface Sample {
  round: number;
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx, connection errors and timeouts. */
  failed: number;
  /** 2xx responses whose body differed from the verified answer (e.g. an error inside a 200). */
  mismatches: number;
  gatewayCpuMs: number;
  cpuMsPerRequest: number;
  rssMb: number;
  subgraphsCpuMsPerRequest: number;
  loadGeneratorCpuMsPerRequest: number;
}

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  expectBody?: string;
  connections: number;
  durationSeconds: number;
  /** Requests a second over all connections (autocannon's overallRate); unset: as fast as the connections go. */
  rate?: number;
}

export async function runLoad(spec: LoadSpec): Promise<Awaited<ReturnType<typeof autocannon>>> {
  return autocannon({
    url: spec.url,
    method: 'POST',
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationSeconds,
    ...(spec.expectBody ? { expectBody: spec.expectBody } : {}),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    timeout: 10,
  });
}

export async function measure(
  spec: LoadSpec,
  round: number,
  pids: { gateway: number; subgraphs: number[] },
): Promise<Sample> {
  const gatewayBefore = treeCpuMs(pids.gateway);
  const subgraphsBefore = sum(pids.subgraphs.map(treeCpuMs));
  const loadBefore = process.cpuUsage();
  const result = await runLoad(spec);
  const load = process.cpuUsage(loadBefore);
  const gatewayCpuMs = treeCpuMs(pids.gateway) - gatewayBefore;
  const subgraphsCpuMs = sum(pids.subgraphs.map(treeCpuMs)) - subgraphsBefore;
  const perRequest = (ms: number) => (result.requests.total ? ms / result.requests.total : NaN);
  return sampleOf(result, round, pids.gateway, gatewayCpuMs, {
    subgraphsCpuMsPerRequest: perRequest(subgraphsCpuMs),
    loadGeneratorCpuMsPerRequest: perRequest((load.user + load.system) / 1000),
  });
}

/** A Sample from autocannon's result and the CPU figures read around it. */
function sampleOf(
  result: Awaited<ReturnType<typeof autocannon>>,
  round: number,
  gatewayPid: number,
  gatewayCpuMs: number,
  others: Pick<Sample, 'subgraphsCpuMsPerRequest' | 'loadGeneratorCpuMsPerRequest'>,
): Sample {
  const requests = result.requests.total;
  return {
    round,
    rps: requests / result.duration,
    requests,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    mismatches: result.mismatches,
    gatewayCpuMs,
    cpuMsPerRequest: requests ? gatewayCpuMs / requests : NaN,
    rssMb: treeRssKb(gatewayPid) / 1024,
    ...others,
  };
}

/**
 * Several gateways measured at once, each under its own load: whatever else
 * the machine does in that window (a noisy neighbour, a slow core) weighs on
 * all of them alike, so their CPU per request can be compared within a
 * round far more precisely than across rounds measured one after another.
 */
export async function measureTogether(
  runs: { spec: LoadSpec; gatewayPid: number }[],
  round: number,
): Promise<Sample[]> {
  const before = runs.map((run) => treeCpuMs(run.gatewayPid));
  const loadBefore = process.cpuUsage();
  const results = await Promise.all(runs.map((run) => runLoad(run.spec)));
  const load = process.cpuUsage(loadBefore);
  const totalRequests = sum(results.map((r) => r.requests.total));
  return results.map((result, index) => {
    const { gatewayPid } = runs[index]!;
    return sampleOf(result, round, gatewayPid, treeCpuMs(gatewayPid) - before[index]!, {
      subgraphsCpuMsPerRequest: NaN,
      loadGeneratorCpuMsPerRequest: totalRequests ? (load.user + load.system) / 1000 / totalRequests : NaN,
    });
  });
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** /proc/<pid>/stat after the `(comm)` field: [state, ppid, …]; utime, stime, cutime, cstime are fields 14–17. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process and every descendant alive now. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const walk = (pid: number) => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return tree;
}

/** CPU time (user + system) of the process, its live descendants and its reaped children, in ms. */
export function treeCpuMs(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const fields = statFields(pid);
    if (!fields) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** System (kernel) CPU time of the process alone, in ms: the share of its CPU spent in system calls. */
export function systemCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[12]) * 1000) / CLOCK_TICKS_PER_SECOND : 0;
}

/** Resident memory of the process and its live descendants, in kB (VmRSS). */
export function treeRssKb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb;
}
