// GraphQL operations of a job's children (Job.childJobs, jobEvents' parentJobIds); codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const JobChildren = graphql(`
  query JobChildren($id: ID!, $first: Int) {
    job(id: $id) { id childJobs(first: $first) { totalCount edges { node { id jobType status } } } }
  }
`);

export const ChildJobEvents = graphql(`
  subscription ChildJobEventsOf($filter: JobEventFilter) {
    jobEvents(filter: $filter) { id status job { id } }
  }
`);
