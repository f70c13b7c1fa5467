// The import kind's settings (environment variables), validated with the rest of the
// configuration by loadConfig (src/service-config.ts reads them from src/kinds.ts).
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const importConfig = {
  /** Largest file createImportJob accepts, in bytes; a larger upload is refused before anything is stored. */
  IMPORT_UPLOAD_MAX_BYTES: int(1, 1024 * 1024 * 1024).default(20 * 1024 * 1024),
  /** Rows an import writes per transaction; cancel takes effect between batches. */
  IMPORT_BATCH_SIZE: int(1, 10_000).default(500),
  /** pg_trgm similarity (0-1] of normalised questions at or above which a row is a near duplicate. */
  IMPORT_SIMILARITY_THRESHOLD: z.coerce.number().min(0.5).max(1).default(0.9),
};
