// graphile-migrate keeps its pool for 200 ms after a migration, with a handler
// that calls process.exit(1) on any error of an idle client: a database
// restart in that moment would end the process. Released at once instead.
import { createRequire } from 'node:module';

export function releaseMigrationPools(): void {
  const require = createRequire(import.meta.url);
  const pgReal = require('graphile-migrate/dist/pgReal.js') as { clearAllPools?: () => void };
  pgReal.clearAllPools?.();
}
