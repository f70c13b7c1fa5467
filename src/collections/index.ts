// The collection kind (seed 002): candles of many symbols from a provider.
import { JobKind } from '../generated/prisma/enums.ts';
import { collectionDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { collectionConfig } from './config.ts';
import { createCollectionHandler } from './handler.ts';
import './schema.ts';

export const collectionsKind: KindDescriptor<typeof collectionConfig> = {
  name: 'collections',
  jobKind: JobKind.COLLECTION,
  config: collectionConfig,
  handlers: (deps) => [createCollectionHandler(deps)],
  dashboard: collectionDashboard,
  tenantModels: ['CollectionJob'],
};
