// Job.kindDetail: what the dashboard shows of a job of a kind, from the kind's
// descriptor (its `dashboard`), so the dashboard names no kind to show its facts.
import type { KindFact } from '../kind-descriptor.ts';
import { JobRef } from './jobs/schema.ts';
import { builder } from './builder.ts';

interface KindDetail {
  title: string;
  facts: KindFact[];
}

const KindFactRef = builder.objectRef<KindFact>('KindFact').implement({
  description: 'One line of a job’s kind detail: a label and its value, formatted for display.',
  fields: (t) => ({ label: t.exposeString('label'), value: t.exposeString('value') }),
});

const KindDetailRef = builder.objectRef<KindDetail>('KindDetail').implement({
  description: 'What the dashboard shows of a job of a kind (the kind’s descriptor says what).',
  fields: (t) => ({ title: t.exposeString('title'), facts: t.field({ type: [KindFactRef], resolve: (detail) => detail.facts }) }),
});

builder.interfaceField(JobRef, 'kindDetail', (t) =>
  t.field({
    type: KindDetailRef,
    nullable: true,
    description: 'The kind’s facts about this job (null for PLAIN jobs and kinds without a dashboard detail).',
    resolve: async (job, _args, ctx) => {
      const dashboard = ctx.kinds.find((kind) => kind.jobKind === job.kind)?.dashboard;
      return dashboard ? { title: dashboard.title, facts: await dashboard.facts(job.id, ctx.prisma) } : null;
    },
  }),
);
