// Operations of the open-platform tests (test/open/): add_job's jobs seen live.
import { graphql } from '../generated/gql.ts';

export const OpenJobEvents = graphql(`
  subscription OpenJobEvents($filter: JobEventFilter) {
    jobEvents(filter: $filter) { status previousStatus message step { name } job { id } }
  }
`);
