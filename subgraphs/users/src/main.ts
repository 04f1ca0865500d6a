import { createLogger } from '@storefront/platform/logger';
import { failStart, runUntilSignal } from '@storefront/platform/server';
import { loadUsersConfig, startUsers } from './index.ts';

const logger = createLogger({ name: 'users' });
try {
  const service = await startUsers(loadUsersConfig(), { logger });
  runUntilSignal(service.stop, logger);
} catch (error) {
  failStart(error, logger);
}
