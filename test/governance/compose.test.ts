import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  defaultPort,
  dockerIgnored,
  entryFiles,
  envProblems,
  interpolate,
  portKey,
  read,
  repo,
  routingUrls,
  SUBGRAPHS,
  type Part,
} from './deploy-support.ts';

/**
 * No Docker engine runs on the project's machines, so docker-compose.yml and
 * the Dockerfile are checked against the code instead of being run.
 */
interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  volumes?: string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const env = (name: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''))]),
  );
const built = Object.entries(services).filter(([, s]) => s.build);
const buildArgs = (s: ComposeService) => (typeof s.build === 'object' ? (s.build.args ?? {}) : {});
const healthUrl = (s: ComposeService) => {
  const test = Array.isArray(s.healthcheck?.test) ? s.healthcheck.test.join(' ') : (s.healthcheck?.test ?? '');
  const match = /https?:\/\/[^'"\s)]+/.exec(test);
  return match ? new URL(match[0]) : undefined;
};
/** What an app container runs: its command, else the image's SERVICE build argument. */
const partOf = (s: ComposeService) => {
  const command = Array.isArray(s.command) ? s.command[0] : s.command;
  return command ?? buildArgs(s).SERVICE;
};

describe('docker-compose.yml', () => {
  it('runs PostgreSQL, Redis, Kafka in KRaft mode (official image), a migration job, the four subgraphs and the gateway', () => {
    for (const name of ['postgres', 'redis', 'kafka', 'migrate', ...SUBGRAPHS, 'gateway'])
      assert.ok(services[name], `no service "${name}"`);
    assert.match(services.postgres!.image ?? '', /^postgres:/);
    assert.match(services.redis!.image ?? '', /^redis:/);
    assert.match(services.kafka!.image ?? '', /^apache\/kafka:/);
    assert.match(env('kafka').KAFKA_PROCESS_ROLES ?? '', /broker/);
    assert.match(env('kafka').KAFKA_PROCESS_ROLES ?? '', /controller/);
    assert.ok(!Object.keys(services).some((n) => /zookeeper/i.test(n)), 'KRaft needs no ZooKeeper');
    assert.deepEqual(built.map(([, s]) => partOf(s)).sort(), [
      'gateway',
      'notifications',
      'orders',
      'products',
      'seed',
      'users',
    ]);
  });

  it('builds every app image from the Dockerfile, with an entry that exists', () => {
    const entries = entryFiles();
    for (const [name, service] of built) {
      assert.equal(typeof service.build, 'object', `${name}: build must name the context and Dockerfile`);
      const build = service.build as { context?: string; dockerfile?: string };
      const context = join(repo, build.context ?? '.');
      assert.ok(
        existsSync(join(context, build.dockerfile ?? 'Dockerfile')),
        `${name}: ${build.dockerfile} does not exist in ${build.context}`,
      );
      const part = partOf(service)!;
      const files = entries[part];
      assert.ok(files?.length, `${name}: deploy/docker/entrypoint.sh has no case for "${part}"`);
      for (const file of files) {
        assert.ok(existsSync(join(repo, file)), `${name}: ${file} (entry of "${part}") does not exist`);
        assert.ok(!dockerIgnored(file), `${name}: ${file} is excluded by .dockerignore`);
      }
      assert.ok(
        ['gateway', ...SUBGRAPHS].includes(buildArgs(service).SERVICE ?? ''),
        `${name}: SERVICE build arg must name a service`,
      );
    }
  });

  it("sets only environment keys that the service's config schema knows, with values it accepts", () => {
    for (const [name, service] of built) {
      const part = partOf(service)!;
      // The seed job starts the users and products services.
      const parts: Part[] = part === 'seed' ? ['users', 'products'] : [part as Part];
      assert.deepEqual(envProblems(parts, env(name)), [], `${name}`);
    }
  });

  it('uses the ports of supergraph.yaml and the config defaults, and the gateway reaches every subgraph by its service name', () => {
    for (const subgraph of SUBGRAPHS) {
      const routing = routingUrls[subgraph]!;
      const port = defaultPort(subgraph);
      assert.equal(
        Number(routing.port),
        port,
        `${subgraph}: supergraph.yaml routes to port ${routing.port}, its config defaults to ${port}`,
      );
      assert.equal(Number(env(subgraph)[portKey(subgraph)] ?? port), port, `${subgraph}: ${portKey(subgraph)}`);
      assert.ok(services[subgraph]!.expose?.map(String).includes(String(port)), `${subgraph}: expose ${port}`);
      assert.equal(env(subgraph).HOST, '0.0.0.0', `${subgraph}: must listen on all interfaces in a container`);

      const url = env('gateway')[`SUBGRAPH_URL_${subgraph.toUpperCase()}`];
      assert.ok(
        url,
        `gateway: SUBGRAPH_URL_${subgraph.toUpperCase()} missing (supergraph.graphql routes to localhost)`,
      );
      const target = new URL(url);
      assert.equal(target.hostname, subgraph, `gateway: ${url} must name the compose service "${subgraph}"`);
      assert.equal(Number(target.port), port, `gateway: ${url} port`);
      assert.equal(
        target.pathname,
        routing.pathname,
        `gateway: ${url} path must be supergraph.yaml's ${routing.pathname}`,
      );
    }
    const gateway = env('gateway');
    assert.equal(Number(gateway.GATEWAY_PORT ?? defaultPort('gateway')), defaultPort('gateway'));
    assert.equal(gateway.HOST, '0.0.0.0');
    assert.ok(
      services.gateway!.ports?.includes(`${defaultPort('gateway')}:${defaultPort('gateway')}`),
      'gateway: publish its port',
    );
    if (gateway.SUPERGRAPH_SDL) {
      assert.ok(
        existsSync(join(repo, gateway.SUPERGRAPH_SDL)),
        `gateway: SUPERGRAPH_SDL=${gateway.SUPERGRAPH_SDL} does not exist`,
      );
      assert.ok(
        !dockerIgnored(gateway.SUPERGRAPH_SDL),
        `${gateway.SUPERGRAPH_SDL} is excluded from the image by .dockerignore`,
      );
    } else {
      assert.ok(!dockerIgnored(gateway.SUPERGRAPH_CONFIG ?? 'supergraph.yaml'));
    }
    if (gateway.JWKS_URL) {
      const jwks = new URL(gateway.JWKS_URL);
      assert.equal(jwks.hostname, 'users');
      assert.equal(Number(jwks.port), defaultPort('users'));
      assert.equal(jwks.pathname, '/.well-known/jwks.json');
      assert.ok(
        read('subgraphs/users/src/index.ts').includes('/.well-known/jwks.json'),
        'users no longer serves /.well-known/jwks.json',
      );
    }
  });

  it('points DATABASE_URL, KAFKA_BROKERS and REDIS_URL at the backing services', () => {
    const pg = env('postgres');
    const kafka = env('kafka');
    const advertised = (kafka.KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((l) => l.replace(/^\w+:\/\//, ''));
    for (const [name, service] of built) {
      const e = env(name);
      if (e.DATABASE_URL) {
        const db = new URL(e.DATABASE_URL);
        assert.equal(db.hostname, 'postgres', `${name}: DATABASE_URL host`);
        assert.equal(db.port || '5432', '5432', `${name}: DATABASE_URL port`);
        assert.equal(decodeURIComponent(db.username), pg.POSTGRES_USER, `${name}: DATABASE_URL user`);
        assert.equal(decodeURIComponent(db.password), pg.POSTGRES_PASSWORD, `${name}: DATABASE_URL password`);
        assert.equal(db.pathname.slice(1), pg.POSTGRES_DB, `${name}: DATABASE_URL database`);
      } else {
        assert.equal(
          partOf(service),
          'gateway',
          `${name}: needs DATABASE_URL, or it runs on an embedded database inside the container`,
        );
      }
      if (e.KAFKA_BROKERS) {
        for (const broker of e.KAFKA_BROKERS.split(','))
          assert.ok(
            advertised.includes(broker.trim()),
            `${name}: ${broker} is not an advertised Kafka listener (${advertised.join(', ')})`,
          );
        assert.ok(!e.KAFKA_BROKERS.includes('localhost'), `${name}: localhost is the container itself`);
      } else {
        assert.fail(`${name}: needs KAFKA_BROKERS, or events stay inside its own process`);
      }
      if (e.REDIS_URL) assert.equal(new URL(e.REDIS_URL).hostname, 'redis', `${name}: REDIS_URL host`);
    }
    assert.ok(env('gateway').REDIS_URL, 'gateway: REDIS_URL, so rate limits and revocations are shared');
  });

  it('health-checks every long-running service on the path it serves, and orders start-up with depends_on conditions', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'migrate') continue;
      assert.ok(service.healthcheck?.test && !service.healthcheck.disable, `${name}: no health check`);
    }
    for (const part of ['gateway', ...SUBGRAPHS] as Part[]) {
      const url = healthUrl(services[part]!);
      assert.ok(url, `${part}: health check must request a URL`);
      assert.equal(Number(url.port), defaultPort(part), `${part}: health check port`);
      assert.equal(url.pathname, '/readyz', `${part}: health check path`);
    }
    const served = read('packages/platform/src/service/subgraph.ts') + read('gateway/src/index.ts');
    assert.ok(
      served.includes("'/readyz'") && served.includes("'/healthz'"),
      'the services no longer serve /readyz and /healthz',
    );

    for (const [name, service] of Object.entries(services)) {
      const dependsOn = service.depends_on ?? {};
      assert.ok(!Array.isArray(dependsOn), `${name}: depends_on needs conditions, not just names`);
      for (const [dependency, { condition }] of Object.entries(dependsOn)) {
        const target = services[dependency];
        assert.ok(target, `${name}: depends on unknown service "${dependency}"`);
        if (condition === 'service_healthy')
          assert.ok(
            target.healthcheck?.test,
            `${name}: waits for ${dependency} to be healthy, but it has no health check`,
          );
        else if (condition === 'service_completed_successfully')
          assert.equal(target.restart, 'no', `${name}: waits for ${dependency} to complete, but it restarts`);
        else assert.fail(`${name}: depends_on ${dependency} with condition ${condition}`);
      }
    }
    for (const subgraph of SUBGRAPHS) {
      const dependsOn = services[subgraph]!.depends_on as Record<string, { condition?: string }>;
      assert.equal(
        dependsOn.migrate?.condition,
        'service_completed_successfully',
        `${subgraph}: start after the migration job`,
      );
      assert.equal(dependsOn.postgres?.condition, 'service_healthy');
      assert.equal(dependsOn.kafka?.condition, 'service_healthy');
      assert.equal(
        (services.gateway!.depends_on as Record<string, { condition?: string }>)[subgraph]?.condition,
        'service_healthy',
      );
    }
    for (const volume of Object.values(services).flatMap((s) => s.volumes ?? [])) {
      const source = volume.split(':')[0]!;
      if (!source.startsWith('.') && !source.startsWith('/'))
        assert.ok(compose.volumes && source in compose.volumes, `volume ${source} is not declared`);
    }
  });
});

describe('docker-compose.yml: observability', () => {
  const scrape = parse(read('ops/prometheus/prometheus.yml')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };

  it('sends every service’s traces to Jaeger', () => {
    assert.match(services.jaeger?.image ?? '', /^jaegertracing\/jaeger:/);
    for (const name of ['gateway', ...SUBGRAPHS])
      assert.equal(env(name).OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318', `${name}: OTEL_EXPORTER_OTLP_ENDPOINT`);
  });

  it('runs Prometheus on ops/prometheus/, scraping the gateway and each service by the job names the alerts use', () => {
    const prometheus = services.prometheus!;
    assert.match(prometheus.image ?? '', /^prom\/prometheus:/);
    assert.ok(prometheus.volumes?.includes('./ops/prometheus:/etc/prometheus:ro'));
    const command = Array.isArray(prometheus.command) ? prometheus.command : [];
    assert.ok(command.includes('--config.file=/etc/prometheus/prometheus.yml'));
    assert.ok(command.includes('--enable-feature=exemplar-storage'), 'exemplars (trace ids) are kept');
    for (const file of scrape.rule_files) assert.ok(existsSync(join(repo, 'ops/prometheus', file)), file);
    const jobs = Object.fromEntries(scrape.scrape_configs.map((c) => [c.job_name, c.static_configs[0]!.targets[0]]));
    for (const part of ['gateway', ...SUBGRAPHS] as Part[])
      assert.equal(jobs[part], `${part}:${defaultPort(part)}`, `job ${part} scrapes the ${part} container`);
    const alerts = read('ops/prometheus/alerts.yml');
    assert.match(alerts, /up\{job=~"users\|products\|orders\|notifications"\}/);
  });

  it('provisions Grafana with the Prometheus and Jaeger data sources and the dashboards of ops/grafana/', () => {
    const grafana = services.grafana!;
    assert.ok(grafana.volumes?.includes('./ops/grafana/provisioning:/etc/grafana/provisioning:ro'));
    assert.ok(grafana.volumes?.includes('./ops/grafana/dashboards:/var/lib/grafana/dashboards:ro'));
    const sources = parse(read('ops/grafana/provisioning/datasources/storefront.yml')) as {
      datasources: { uid: string; url: string }[];
    };
    assert.deepEqual(
      sources.datasources.map((d) => [d.uid, new URL(d.url).hostname]),
      [
        ['prometheus', 'prometheus'],
        ['jaeger', 'jaeger'],
      ],
    );
    const dashboards = readdirSync(join(repo, 'ops/grafana/dashboards')).sort();
    assert.deepEqual(dashboards, [
      'gateway.json',
      'notifications.json',
      'orders.json',
      'products.json',
      'saga.json',
      'users.json',
    ]);
    const uids = new Set<string>();
    for (const file of dashboards) {
      const dashboard = JSON.parse(read(`ops/grafana/dashboards/${file}`)) as {
        uid: string;
        panels: { targets: { expr: string; datasource: { uid: string } }[] }[];
      };
      assert.ok(!uids.has(dashboard.uid), `${file}: uid ${dashboard.uid} is taken`);
      uids.add(dashboard.uid);
      assert.ok(dashboard.panels.length > 0, `${file}: no panels`);
      for (const target of dashboard.panels.flatMap((p) => p.targets)) {
        assert.equal(target.datasource.uid, 'prometheus', `${file}: ${target.expr}`);
        assert.ok(target.expr.trim(), `${file}: a panel without a query`);
      }
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const lines = dockerfile.split('\n').reduce<string[]>((all, line) => {
    // Join continuation lines.
    if (all.length && all[all.length - 1]!.endsWith('\\'))
      all[all.length - 1] = `${all[all.length - 1]!.slice(0, -1)} ${line.trim()}`;
    else all.push(line.trim());
    return all;
  }, []);
  const stages = lines.reduce<string[][]>((all, line) => {
    if (/^FROM\s/i.test(line)) all.push([]);
    all[all.length - 1]?.push(line);
    return all;
  }, []);

  it('is multi-stage: a build stage with npm ci and prisma generate, a runtime stage with production dependencies only', () => {
    assert.ok(stages.length >= 2, 'expected a build and a runtime stage');
    const build = stages[0]!.join('\n');
    const runtime = stages[stages.length - 1]!.join('\n');
    assert.match(stages[0]![0]!, /^FROM \$\{NODE_IMAGE\}|^FROM node:\d+(\.\d+)*-slim/);
    assert.match(dockerfile, /ARG NODE_IMAGE=node:20-slim/);
    assert.match(build, /npm ci\b/);
    assert.match(build, /scripts\/prisma\/generate\.sh|prisma generate/);
    assert.ok(existsSync(join(repo, 'scripts/prisma/generate.sh')));
    assert.match(build, /npm prune --omit=dev|npm ci --omit=dev/);
    // The image runs compiled bundles (deploy/docker/entrypoint.sh): they are built before dev dependencies go.
    assert.ok(
      /npm run build/.test(build) && build.indexOf('npm run build') < build.search(/npm prune/),
      'the build stage must run `npm run build` before pruning',
    );
    assert.doesNotMatch(runtime, /npm (ci|install)(?![^\n]*--omit=dev)/, 'the runtime stage installs dev dependencies');
    assert.match(runtime, /COPY --from=build/);
  });

  it('runs as a non-root user, selecting the service with the SERVICE build argument', () => {
    const runtime = stages[stages.length - 1]!;
    const user = runtime.filter((l) => /^USER\s/i.test(l)).pop();
    assert.ok(user, 'the runtime stage sets no USER (it would run as root)');
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s|$)/i);
    assert.ok(
      runtime.some((l) => /^ARG SERVICE\b/.test(l)) && runtime.some((l) => /^ENV SERVICE=\$\{SERVICE\}/.test(l)),
    );
    const entrypoint = runtime.find((l) => /^ENTRYPOINT/.test(l));
    const script = /"\/app\/([^"]+)"/.exec(entrypoint ?? '')?.[1];
    assert.ok(script && existsSync(join(repo, script)), `entrypoint ${script} does not exist`);
    assert.ok(statSync(join(repo, script)).mode & 0o111, `${script} is not executable`);
    assert.ok(!dockerIgnored(script), `${script} is excluded by .dockerignore`);
    for (const part of ['gateway', ...SUBGRAPHS, 'migrate', 'seed'])
      assert.ok(entryFiles()[part], `entrypoint.sh cannot run ${part}`);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    for (const line of lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))) {
      const args = line
        .split(/\s+/)
        .slice(1)
        .filter((a) => !a.startsWith('--'));
      for (const source of args.slice(0, -1)) {
        if (source === '.') continue;
        assert.ok(existsSync(join(repo, source)), `${line}: ${source} does not exist`);
        assert.ok(!dockerIgnored(source), `${line}: ${source} is excluded by .dockerignore`);
      }
    }
    // What the services read at run time must reach the image.
    for (const path of [
      'package-lock.json',
      'supergraph.yaml',
      'supergraph.graphql',
      'prisma/users/schema.prisma',
      'gateway/rate-limits.yaml',
      'scripts/seed.ts',
      'scripts/deploy/migrate.ts',
      'packages/platform/src/config/index.ts',
    ]) {
      if (existsSync(join(repo, path))) assert.ok(!dockerIgnored(path), `${path} is excluded by .dockerignore`);
    }
    for (const path of [
      'node_modules',
      '.git',
      'subgraphs/users/src/data/generated',
      'test/e2e',
      'subgraphs/users/test',
    ]) {
      assert.ok(dockerIgnored(path), `${path} should not be sent to the Docker build`);
    }
  });
});
