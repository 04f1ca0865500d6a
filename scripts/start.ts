/**
 * `npm start`: the whole supergraph on one machine.
 *
 * With no DATABASE_URL / KAFKA_BROKERS set it runs the embedded default: the
 * gateway and all four subgraphs in this one process, each subgraph on its own
 * embedded PGlite database under DATA_DIR, sharing one in-process event bus,
 * with the demo catalog and admin seeded. Nothing to install but Node.
 *
 * With KAFKA_BROKERS set, each service runs as its own process, exactly as it
 * would in production (`npm run start:<service>`), on PostgreSQL when
 * DATABASE_URL is set too. DATABASE_URL without KAFKA_BROKERS is refused:
 * separate processes would have no bus in common. If one service exits, the
 * others are stopped and the launcher exits with an error.
 *
 * `npm run start:prod` runs this file compiled (dist/start.js, `npm run build`),
 * and then starts the services' compiled entries too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createLogger } from '@storefront/platform/logger';
import { MemoryEventBus } from '@storefront/platform/events';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import type { RunningService } from '@storefront/platform/service';
import { SEPARATE_PROCESSES_NEED_KAFKA } from '@storefront/platform/service';
import { loadGatewayConfig, startGateway } from '@storefront/gateway';
import { loadUsersConfig, startUsers } from '@storefront/users';
import { loadProductsConfig, startProducts } from '@storefront/products';
import { loadOrdersConfig, startOrders } from '@storefront/orders';
import { loadNotificationsConfig, startNotifications } from '@storefront/notifications';

const logger = createLogger({ name: 'storefront' });
const separateProcesses = Boolean(process.env.KAFKA_BROKERS);

async function startEmbedded(): Promise<() => Promise<void>> {
  const bus = new MemoryEventBus(logger.child({ component: 'bus' }));
  const dependencies = { bus, logger };
  const services: RunningService[] = [];
  const stopAll = async () => {
    for (const service of services.reverse()) await service.stop();
    await bus.close();
  };
  try {
    // Consumers first-to-last along the order flow, so no event waits for its consumer.
    services.push(await startNotifications(loadNotificationsConfig(), dependencies));
    services.push(await startProducts(loadProductsConfig(), dependencies));
    services.push(await startOrders(loadOrdersConfig(), dependencies));
    services.push(await startUsers(loadUsersConfig(), dependencies));
    for (const service of services) await service.seed();
    const gatewayConfig = loadGatewayConfig();
    const gateway = await startGateway(
      {
        ...gatewayConfig,
        subgraphUrls: { ...Object.fromEntries(services.map((s) => [s.name, s.url])), ...gatewayConfig.subgraphUrls },
      },
      // The same bus as the services: the gateway hears of ended sessions on it.
      { logger, bus },
    );
    const users = loadUsersConfig();
    process.stdout.write(
      [
        '',
        `  Storefront supergraph is ready at ${gateway.url}`,
        '',
        `  Embedded mode: data in ${users.DATA_DIR}/, events in memory.`,
        `  Admin:     ${users.SEED_ADMIN_EMAIL} / ${users.SEED_ADMIN_PASSWORD}`,
        `  Customer:  ${users.SEED_CUSTOMER_EMAIL} / ${users.SEED_CUSTOMER_PASSWORD}`,
        '  Log in with: mutation { logIn(email: "…", password: "…") { accessToken } }',
        '  then send the token as "Authorization: Bearer <accessToken>".',
        '',
      ].join('\n') + '\n',
    );
    return async () => {
      await gateway.stop();
      await stopAll();
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

function startProcesses(): () => Promise<void> {
  // Compiled (`npm run start:prod`, dist/start.js): the services' compiled entries, run by plain node.
  const compiled = process.argv[1]?.endsWith('.js') ?? false;
  const entries = ['users', 'products', 'orders', 'notifications'].map(
    (name) => `subgraphs/${name}/${compiled ? 'dist/main.js' : 'src/main.ts'}`,
  );
  entries.push(compiled ? 'gateway/dist/main.js' : 'gateway/src/main.ts');
  const children: ChildProcess[] = entries.map((entry) =>
    spawn(process.execPath, compiled ? [entry] : ['--import', 'tsx', entry], { stdio: 'inherit', env: process.env }),
  );
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  for (const [index, child] of children.entries()) {
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // A supergraph with a service missing is not a mode to keep running in: stop it all, loudly.
      logger.error({ entry: entries[index], code, signal }, 'a service exited; stopping the others');
      void stopAll().then(() => process.exit(1));
    });
  }
  return stopAll;
}

try {
  if (process.env.DATABASE_URL && !separateProcesses) throw new Error(SEPARATE_PROCESSES_NEED_KAFKA);
  const stop = separateProcesses ? startProcesses() : await startEmbedded();
  runUntilSignal(stop, logger);
} catch (error) {
  failStart(error, logger);
}
