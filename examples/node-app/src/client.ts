// Creating this app's jobs through jobwire's GraphQL API, with payloads typed
// by the job types' zod schemas (a wrong payload fails `tsc`).
import type { JobType, PayloadOf } from 'jobwire';

export interface CreatedJob {
  id: string;
  status: string;
}

export class ApiError extends Error {
  constructor(
    readonly typename: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class JobwireClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((error) => error.message).join('; '));
    return body.data as T;
  }

  /** Creates a job of one of this app's types; the payload is checked by tsc here and by the API. */
  async createJob<T extends JobType<any, any>>(type: T, payload: PayloadOf<T>, options: { queueName?: string } = {}): Promise<CreatedJob> {
    return this.createUntypedJob(type.jobType, payload, options);
  }

  /** The same without the compile-time check (what another language's client would send). */
  async createUntypedJob(jobType: string, payload: unknown, options: { queueName?: string } = {}): Promise<CreatedJob> {
    const { createJob } = await this.request<{
      createJob: { __typename: string; message?: string; field?: string; data?: CreatedJob };
    }>(
      `mutation Create($input: CreateJobInput!) {
        createJob(input: $input) {
          __typename
          ... on MutationCreateJobSuccess { data { id status } }
          ... on ValidationError { message field }
          ... on Error { message }
        }
      }`,
      { input: { jobType, payload, ...options } },
    );
    if (createJob.__typename !== 'MutationCreateJobSuccess') throw new ApiError(createJob.__typename, createJob.message ?? '', createJob.field);
    return createJob.data!;
  }
}
