// Prisma is used for generate only: graphile-migrate owns the schema, so no
// datasource URL is needed here (never run `prisma migrate` or `db push`).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
});
