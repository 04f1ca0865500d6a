import { createLogger } from '@storefront/platform/logger';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import { loadGatewayConfig, startGateway } from './index.ts';

const logger = createLogger({ name: 'gateway' });
try {
  const gateway = await startGateway(loadGatewayConfig(), { logger });
  runUntilSignal(gateway.stop, logger);
} catch (error) {
  failStart(error, logger);
}
