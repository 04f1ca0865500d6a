import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const SERVICES_SCRIPT = fileURLToPath(new URL('../../../scripts/services/services.sh', import.meta.url));

/**
 * The fault suite's own Kafka broker and Redis, started by the project's
 * services script in a state dir and on ports of their own: the suite kills
 * them with kill -9, so they must never be the ones other tests use. Only the
 * pid files of this state dir are ever signalled.
 *
 * Ports: a block of eight from FAULTS_PORT_BASE (default: the test Kafka's
 * port + 2, which the services script leaves free): Kafka, its controller,
 * Redis, then the gateway and the four subgraphs.
 */
export interface FaultPorts {
  kafka: number;
  kafkaController: number;
  redis: number;
  gateway: number;
  users: number;
  products: number;
  orders: number;
  notifications: number;
}

export function faultPorts(env: NodeJS.ProcessEnv = process.env): FaultPorts {
  const testKafkaPort = Number(env.KAFKA_PORT || /:(\d+)/.exec(env.KAFKA_BROKERS ?? '')?.[1] || 19092);
  const base = Number(env.FAULTS_PORT_BASE || testKafkaPort + 2);
  if (!Number.isInteger(base) || base < 1024 || base > 65_527)
    throw new Error(`FAULTS_PORT_BASE must be a port from 1024 to 65527, got "${env.FAULTS_PORT_BASE}"`);
  return {
    kafka: base,
    kafkaController: base + 1,
    redis: base + 2,
    gateway: base + 3,
    users: base + 4,
    products: base + 5,
    orders: base + 6,
    notifications: base + 7,
  };
}

export type Backend = 'kafka' | 'redis';

export interface Backends {
  kafkaBrokers: string;
  redisUrl: string;
  stateDir: string;
  /** kill -9, as a crash. */
  kill(backend: Backend): Promise<void>;
  /** Starts it again on its port and data dir; resolves when it answers. */
  restart(backend: Backend): Promise<void>;
  /** Stops both and deletes the state dir. */
  stop(): Promise<void>;
}

export async function startBackends(ports: FaultPorts): Promise<Backends> {
  const stateDir = `${process.env.STOREFRONT_SERVICES_DIR || '/tmp/storefront-services'}-faults`;
  const env = {
    ...process.env,
    STOREFRONT_SERVICES_DIR: stateDir,
    KAFKA_PORT: String(ports.kafka),
    KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
    REDIS_PORT: String(ports.redis),
  };
  const services = async (...args: string[]) => {
    try {
      await run('bash', [SERVICES_SCRIPT, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`services.sh ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
    }
  };
  // A state dir left by an interrupted run: start afresh.
  await services('stop');
  // Stopped however this process ends (a test deadline force-exits it without running the suite's teardown).
  const stopOnExit = () => {
    try {
      execFileSync('bash', [SERVICES_SCRIPT, 'stop'], { env, stdio: 'ignore', timeout: 60_000 });
    } catch {
      // nothing more can be done while exiting
    }
  };
  process.once('exit', stopOnExit);
  await services('start', 'kafka', 'redis');
  return {
    kafkaBrokers: `127.0.0.1:${ports.kafka}`,
    redisUrl: `redis://127.0.0.1:${ports.redis}`,
    stateDir,
    kill: (backend) => services('kill', backend),
    restart: (backend) => services('start', backend),
    stop: async () => {
      process.off('exit', stopOnExit);
      await services('stop');
    },
  };
}
