import { createLogger } from '@storefront/platform/logger';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import { loadProductsConfig, startProducts } from './index.ts';

const logger = createLogger({ name: 'products' });
try {
  const service = await startProducts(loadProductsConfig(), { logger });
  runUntilSignal(service.stop, logger);
} catch (error) {
  failStart(error, logger);
}
