import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseTrafficShaping } from '@storefront/gateway';
import {
  defaultPort,
  entryFiles,
  envProblems,
  portKey,
  read,
  repo,
  routingUrls,
  SUBGRAPHS,
  type Part,
} from './deploy-support.ts';

/**
 * deploy/k8s checked against the code, the way compose.test.ts checks
 * docker-compose.yml: no cluster needed.
 */
const DIR = 'deploy/k8s';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: unknown[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const kustomization = readYaml('kustomization.yaml')[0] as { resources?: string[]; images?: { name: string }[] };
const files = kustomization.resources ?? [];
const resources: Resource[] = files.flatMap((file) => readYaml(file) as Resource[]);
const byKind = (kind: string) => resources.filter((r) => r.kind === kind);
const find = (kind: string, name: string) => resources.find((r) => r.kind === kind && r.metadata.name === name);
const podSpec = (r: Resource) => ((r.spec?.template as { spec: PodSpec }) ?? { spec: { containers: [] } }).spec;
const workloads = [...byKind('Deployment'), ...byKind('Job')];

function readYaml(file: string): unknown[] {
  return parseAllDocuments(read(join(DIR, file)))
    .map((doc) => {
      assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS();
    })
    .filter(Boolean);
}

/** Secrets the README's "Secrets" section documents, as `name/key`. */
function documentedSecrets(): Set<string> {
  const readme = read(join(DIR, 'README.md'));
  const section = /^## Secrets\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
  const rows = section.split('\n').filter((line) => /^\|\s*`/.test(line));
  return new Set(
    rows.map((row) =>
      row
        .split('|')
        .slice(1, 3)
        .map((cell) => cell.trim().replace(/`/g, ''))
        .join('/'),
    ),
  );
}

describe('deploy/k8s', () => {
  it('lists only files that exist, and every YAML file in the folder', () => {
    for (const file of files)
      assert.ok(existsSync(join(repo, DIR, file)), `kustomization lists ${file}, which does not exist`);
    const yaml = readdirSync(join(repo, DIR)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    assert.deepEqual([...yaml].sort(), [...files].sort(), 'every manifest belongs in kustomization.yaml');
  });

  it('has a Deployment and a Service for the gateway and every subgraph, and a migration Job', () => {
    for (const part of ['gateway', ...SUBGRAPHS]) {
      assert.ok(find('Deployment', part), `no Deployment ${part}`);
      assert.ok(find('Service', part), `no Service ${part}`);
    }
    const job = find('Job', 'migrate');
    assert.ok(job, 'no migration Job');
    assert.deepEqual(podSpec(job).containers[0]!.args, ['migrate']);
  });

  it('runs the image entry each workload names', () => {
    const entries = entryFiles();
    const images = new Set((kustomization.images ?? []).map((i) => i.name));
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        const part = container.args?.[0];
        assert.ok(
          part && entries[part],
          `${workload.metadata.name}: args must name a part of deploy/docker/entrypoint.sh, got ${part}`,
        );
        for (const file of entries[part]) assert.ok(existsSync(join(repo, file)), `${file} does not exist`);
        assert.ok(
          container.image && images.has(container.image),
          `${workload.metadata.name}: image ${container.image} is not set in kustomization images`,
        );
      }
    }
  });

  it("sets only environment keys the service's config schema knows, with values it accepts", () => {
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        const part = container.args![0]!;
        const parts: Part[] = part === 'migrate' ? ['users'] : part === 'seed' ? ['users', 'products'] : [part as Part];
        assert.equal(
          container.envFrom,
          undefined,
          `${workload.metadata.name}: list env keys explicitly so they can be checked`,
        );
        const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.valueFrom ? undefined : e.value]));
        assert.deepEqual(envProblems(parts, env), [], workload.metadata.name);
        if (part !== 'migrate') assert.equal(env.NODE_ENV, 'production', `${workload.metadata.name}: NODE_ENV`);
        if (part !== 'migrate')
          assert.equal(
            env.HOST,
            '0.0.0.0',
            `${workload.metadata.name}: HOST (the default, 127.0.0.1, is unreachable from outside the pod)`,
          );
      }
    }
  });

  it('keeps secrets in Secrets, each documented in the README', () => {
    const documented = documentedSecrets();
    assert.ok(documented.size > 0, 'deploy/k8s/README.md has no "## Secrets" table');
    const required: Record<string, string[]> = {
      gateway: ['SUBGRAPH_SECRET', 'REDIS_URL'],
      users: ['DATABASE_URL', 'SUBGRAPH_SECRET', 'JWT_SIGNING_KEYS'],
      products: ['DATABASE_URL', 'SUBGRAPH_SECRET'],
      orders: ['DATABASE_URL', 'SUBGRAPH_SECRET'],
      notifications: ['DATABASE_URL', 'SUBGRAPH_SECRET'],
      migrate: ['DATABASE_URL'],
    };
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref)
            assert.ok(
              documented.has(`${ref.name}/${ref.key}`),
              `${workload.metadata.name}: ${variable.name} refers to secret ${ref.name}/${ref.key}, which README.md#secrets does not list`,
            );
          if (/SECRET|PASSWORD|KEYS|DATABASE_URL|REDIS_URL|SMTP_URL/.test(variable.name)) {
            assert.ok(ref, `${workload.metadata.name}: ${variable.name} must come from a Secret, not a literal`);
          }
        }
        for (const name of required[container.args![0]!] ?? []) {
          assert.ok(
            container.env?.some((e) => e.name === name && e.valueFrom?.secretKeyRef),
            `${workload.metadata.name}: ${name} must be set from a Secret`,
          );
        }
      }
    }
  });

  it('probes /readyz and /healthz, which the services serve, on the port each listens on', () => {
    const served = read('packages/platform/src/service/subgraph.ts') + read('gateway/src/index.ts');
    for (const path of ['/healthz', '/readyz'])
      assert.ok(served.includes(`'${path}'`), `the services no longer serve ${path}`);
    for (const part of ['gateway', ...SUBGRAPHS] as Part[]) {
      const container = podSpec(find('Deployment', part)!).containers[0]!;
      const port = defaultPort(part);
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      assert.equal(Number(env[portKey(part)] ?? port), port, `${part}: ${portKey(part)}`);
      if (part !== 'gateway')
        assert.equal(
          Number(routingUrls[part]!.port),
          port,
          `${part}: supergraph.yaml routes to ${routingUrls[part]!.port}`,
        );
      const named = container.ports?.find((p) => p.containerPort === port);
      assert.ok(named, `${part}: containerPort ${port}`);
      const resolvePort = (p: number | string) =>
        typeof p === 'number' ? p : container.ports?.find((cp) => cp.name === p)?.containerPort;
      assert.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${part}: readiness probe`);
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${part}: liveness probe`);
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
        if (probe?.httpGet) assert.equal(resolvePort(probe.httpGet.port), port, `${part}: probe port`);
      }
      const service = find('Service', part)!.spec as {
        selector: Record<string, string>;
        ports: { port: number; targetPort: number | string }[];
      };
      const labels = (find('Deployment', part)!.spec!.template as { metadata: { labels: Record<string, string> } })
        .metadata.labels;
      for (const [k, v] of Object.entries(service.selector))
        assert.equal(labels[k], v, `${part}: Service selector ${k}=${v} matches no pod`);
      assert.equal(service.ports[0]!.port, port, `${part}: Service port`);
      assert.equal(resolvePort(service.ports[0]!.targetPort), port, `${part}: Service targetPort`);
    }
  });

  it("routes the gateway to every subgraph's Service on the path supergraph.yaml gives", () => {
    const container = podSpec(find('Deployment', 'gateway')!).containers[0]!;
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    for (const subgraph of SUBGRAPHS) {
      const url = env[`SUBGRAPH_URL_${subgraph.toUpperCase()}`];
      assert.ok(url, `gateway: SUBGRAPH_URL_${subgraph.toUpperCase()} missing`);
      const target = new URL(url);
      assert.ok(find('Service', target.hostname.split('.')[0]!), `gateway: ${url} names no Service`);
      assert.equal(target.hostname.split('.')[0], subgraph);
      assert.equal(Number(target.port), defaultPort(subgraph));
      assert.equal(target.pathname, routingUrls[subgraph]!.pathname);
    }
    if (env.SUPERGRAPH_SDL)
      assert.ok(existsSync(join(repo, env.SUPERGRAPH_SDL)), `SUPERGRAPH_SDL=${env.SUPERGRAPH_SDL} does not exist`);
  });

  it('sets resource requests and limits and runs every container as non-root', () => {
    for (const workload of workloads) {
      const spec = podSpec(workload);
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${workload.metadata.name}: runAsNonRoot`);
      assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, `${workload.metadata.name}: runAsUser`);
      for (const container of spec.containers) {
        for (const kind of ['requests', 'limits'] as const) {
          for (const resource of ['cpu', 'memory']) {
            assert.ok(
              container.resources?.[kind]?.[resource],
              `${workload.metadata.name}: resources.${kind}.${resource}`,
            );
          }
        }
        assert.equal(
          container.securityContext?.allowPrivilegeEscalation,
          false,
          `${workload.metadata.name}: allowPrivilegeEscalation`,
        );
      }
    }
  });

  it('autoscales the gateway Deployment', () => {
    const hpa = byKind('HorizontalPodAutoscaler').find(
      (h) => (h.spec?.scaleTargetRef as { name: string }).name === 'gateway',
    );
    assert.ok(hpa, 'no HorizontalPodAutoscaler for the gateway');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const spec = hpa.spec as {
      scaleTargetRef: { kind: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: unknown[];
    };
    assert.equal(spec.scaleTargetRef.kind, 'Deployment');
    assert.ok(spec.minReplicas >= 2 && spec.maxReplicas > spec.minReplicas);
    assert.ok(spec.metrics.length > 0);
    // CPU utilisation is relative to requests: the gateway must request CPU.
    assert.ok(podSpec(find('Deployment', 'gateway')!).containers[0]!.resources?.requests?.cpu);
  });

  it('keeps a ready pod of everything through rollouts and disruptions, and lets only the gateway reach the subgraphs', () => {
    for (const deployment of byKind('Deployment')) {
      const { name } = deployment.metadata;
      const strategy = deployment.spec?.strategy as { rollingUpdate?: { maxUnavailable?: number } } | undefined;
      assert.equal(strategy?.rollingUpdate?.maxUnavailable, 0, `${name}: rollouts must not take a ready pod away`);
      const budget = byKind('PodDisruptionBudget').find(
        (pdb) =>
          (pdb.spec?.selector as { matchLabels?: Record<string, string> })?.matchLabels?.['app.kubernetes.io/name'] ===
          name,
      );
      assert.ok(budget, `${name}: no PodDisruptionBudget`);
      assert.equal(budget.apiVersion, 'policy/v1');
      assert.ok((budget.spec as { minAvailable?: number }).minAvailable! >= 1, `${name}: the budget keeps no pod`);
    }
    for (const deployment of byKind('Deployment')) {
      const { name } = deployment.metadata;
      // A new pod must stay ready a while before the next old one goes.
      assert.ok((deployment.spec?.minReadySeconds as number) >= 5, `${name}: minReadySeconds`);
      // Selected by its own instance label, so a second track of it (products-green) is never taken for it.
      const own = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name };
      const selector = (deployment.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
      assert.deepEqual(selector, own, `${name}: Deployment selector`);
      assert.deepEqual(find('Service', name)!.spec?.selector, own, `${name}: Service selector`);
      const budget = byKind('PodDisruptionBudget').find((pdb) => pdb.metadata.name === name);
      assert.deepEqual(
        (budget?.spec?.selector as { matchLabels?: unknown })?.matchLabels,
        own,
        `${name}: budget selector`,
      );
    }
    const policies = byKind('NetworkPolicy');
    for (const subgraph of SUBGRAPHS) {
      const guarding = policies.filter((policy) => {
        const selector = policy.spec?.podSelector as { matchExpressions?: { key: string; values: string[] }[] };
        return selector.matchExpressions?.some(
          (e) => e.key === 'app.kubernetes.io/name' && e.values.includes(subgraph),
        );
      });
      assert.equal(guarding.length, 1, `${subgraph}: no NetworkPolicy selects it`);
      const ingress = guarding[0]!.spec?.ingress as {
        from: { podSelector?: { matchLabels?: Record<string, string> } }[];
      }[];
      const sources = ingress.flatMap((rule) =>
        rule.from.map((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']),
      );
      assert.deepEqual(sources, ['gateway'], `${subgraph}: reachable from more than the gateway`);
    }
  });

  it('gives the gateway a traffic-shaping file it reloads, from a ConfigMap mounted as a directory, that the gateway accepts', () => {
    const spec = podSpec(find('Deployment', 'gateway')!) as PodSpec & {
      volumes?: { name: string; configMap?: { name: string } }[];
    };
    const container = spec.containers[0]! as Container & {
      volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
    };
    const path = container.env?.find((e) => e.name === 'TRAFFIC_SHAPING_CONFIG')?.value;
    assert.ok(path, 'gateway: TRAFFIC_SHAPING_CONFIG is not set');
    const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `gateway: nothing is mounted where ${path} is`);
    // A subPath mount never sees a ConfigMap's updates: the file would never change.
    assert.equal(mount.subPath, undefined, 'gateway: the traffic file is mounted with subPath');
    const configMapName = spec.volumes?.find((v) => v.name === mount.name)?.configMap?.name;
    assert.ok(configMapName, `gateway: volume ${mount.name} is not a ConfigMap`);
    const configMap = find('ConfigMap', configMapName);
    assert.ok(configMap, `no ConfigMap ${configMapName}`);
    const text = (configMap as { data?: Record<string, string> }).data?.[path.slice(mount.mountPath.length + 1)];
    assert.ok(text, `ConfigMap ${configMapName} has no ${path.slice(mount.mountPath.length + 1)}`);
    parseTrafficShaping(text, `${configMapName}`, SUBGRAPHS);
  });
});
