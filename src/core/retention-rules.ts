// JOB_RETENTION: how long finished jobs are kept, per status and optionally per
// queue (docs/operating.md#retention). Parsed here, once, so a bad rule stops
// the start with a message naming it.
export const FINISHED_STATUSES = ['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'] as const;
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];

export interface RetentionRule {
  /** null: every queue without a rule of its own for this status. */
  queueName: string | null;
  status: FinishedStatus;
  /** Kept this long after it finished. */
  seconds: number;
}

const UNIT_SECONDS = { m: 60, h: 3600, d: 86_400 } as const;

/**
 * `COMPLETED=1d,FAILED=90d,reports/COMPLETED=7d`: `[queue/]STATUS=<n><m|h|d>`,
 * comma-separated. Throws an Error naming the bad rule.
 */
export function parseRetentionRules(text: string): RetentionRule[] {
  const rules: RetentionRule[] = [];
  for (const part of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const match = /^(?:([A-Za-z0-9][A-Za-z0-9_.:-]{0,63})\/)?([A-Za-z_]+)=(\d+)([mhd])$/.exec(part);
    if (!match) throw new Error(`"${part}" is not [queue/]STATUS=<n>m|h|d (e.g. COMPLETED=1d, reports/FAILED=90d)`);
    const status = match[2]!.toUpperCase() as FinishedStatus;
    if (!FINISHED_STATUSES.includes(status)) throw new Error(`"${part}": ${match[2]} is not a finished status (${FINISHED_STATUSES.join(', ')})`);
    const seconds = Number(match[3]) * UNIT_SECONDS[match[4] as keyof typeof UNIT_SECONDS];
    if (seconds < 60 || seconds > 36_500 * 86_400) throw new Error(`"${part}": must be between 1 minute and 36500 days`);
    const queueName = match[1] ?? null;
    if (rules.some((rule) => rule.queueName === queueName && rule.status === status)) throw new Error(`"${part}": ${queueName ? `${queueName}/` : ''}${status} has two rules`);
    rules.push({ queueName, status, seconds });
  }
  return rules;
}
