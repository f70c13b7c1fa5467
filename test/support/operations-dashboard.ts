// GraphQL operations the dashboard relies on (throughput, live queue stats); codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const JobThroughput = graphql(`
  query JobThroughput($minutes: Int) {
    jobThroughput(minutes: $minutes) { minute completedCount failedCount }
  }
`);

export const QueuesUpdated = graphql(`
  subscription QueuesUpdated {
    queuesUpdated { queueName pendingCount runningCount completedCount failedCount deadLetterCount cancelledCount }
  }
`);
