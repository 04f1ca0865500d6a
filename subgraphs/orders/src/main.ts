import { createLogger } from '@storefront/platform/logger';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import { loadOrdersConfig, startOrders } from './index.ts';

const logger = createLogger({ name: 'orders' });
try {
  const service = await startOrders(loadOrdersConfig(), { logger });
  runUntilSignal(service.stop, logger);
} catch (error) {
  failStart(error, logger);
}
