// A worker process running the test job types (test-handlers.ts): the real
// app and CLI signal handling, with a registry the built-in one lacks.
import { loadConfig } from '../../src/service-config.ts';
import { startApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestRegistry } from './test-handlers.ts';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const app = await startApp(config, logger, { api: false, worker: true }, { registry: createTestRegistry() });
const stop = () => void app.stop().then(() => process.exit(0), () => process.exit(1));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
