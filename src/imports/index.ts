// The import kind (seed 001): CSV/JSON/XLSX files of question-answer pairs.
import { JobKind } from '../generated/prisma/enums.ts';
import { importDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { importConfig } from './config.ts';
import { createImportHandler } from './handler.ts';
import './schema.ts';

export const importsKind: KindDescriptor<typeof importConfig> = {
  name: 'imports',
  jobKind: JobKind.IMPORT,
  config: importConfig,
  handlers: (deps) => [createImportHandler(deps)],
  dashboard: importDashboard,
  tenantModels: ['ImportJob', 'QaPair'],
  uploadMaxBytes: (config) => config.IMPORT_UPLOAD_MAX_BYTES,
};
