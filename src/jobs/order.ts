// Lists of jobs are newest first everywhere (docs/operating.md); the id breaks
// ties between jobs created in the same microsecond, so pages never overlap.
export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
