// Typed operations from schema.graphql for the tests (and any bundled client):
// `npm run generate` (also run on install) writes test/generated/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  // One operations file per capability: test/support/operations*.ts
  documents: ['test/support/operations*.ts'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSONObject: 'Record<string, unknown>', JSON: 'unknown', Secret: 'string' },
      },
    },
  },
};

export default config;
