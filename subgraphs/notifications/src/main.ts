import { createLogger } from '@storefront/platform/logger';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import { loadNotificationsConfig, startNotifications } from './index.ts';

const logger = createLogger({ name: 'notifications' });
try {
  const service = await startNotifications(loadNotificationsConfig(), { logger });
  runUntilSignal(service.stop, logger);
} catch (error) {
  failStart(error, logger);
}
