// A local HTTP server that plays IBKR's Flex Web Service for tests: each
// account is a Flex token with its query id and the statement that query
// answers. SendRequest (t = token, q = query id) answers a reference code;
// GetStatement (t = the same token, q = that code) answers "generation in
// progress" (ErrorCode 1019) `inProgressPolls` times, then the statement. A
// token it does not know is refused with ErrorCode 1012; with `echoTokens`
// the refusal quotes the token, as a careless upstream might.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlexAccount {
  token: string;
  queryId: string;
  /** The Flex Query XML its query answers. */
  statement: string;
}

export interface FlexRequest {
  /** SendRequest or GetStatement. */
  endpoint: string;
  /** The `t` parameter: the token it carried. */
  token: string | null;
}

export interface FlexServer {
  /** As IBKR_FLEX_BASE_URL takes it: http://127.0.0.1:<port>/AccountManagement/FlexWebService. */
  url: string;
  requests: FlexRequest[];
  close(): Promise<void>;
}

const response = (status: string, fields: string) => `<FlexStatementResponse timestamp="x"><Status>${status}</Status>${fields}</FlexStatementResponse>`;

export async function startFlexServer(options: { accounts: FlexAccount[]; inProgressPolls?: number; echoTokens?: boolean }): Promise<FlexServer> {
  const references = new Map<string, { account: FlexAccount; polls: number }>();
  const requests: FlexRequest[] = [];
  const server = createServer((request, answer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const token = url.searchParams.get('t');
    const endpoint = url.pathname.split('/').at(-1) ?? '';
    requests.push({ endpoint, token });
    answer.setHeader('content-type', 'text/xml');
    const refuse = () =>
      answer.end(response('Fail', `<ErrorCode>1012</ErrorCode><ErrorMessage>${options.echoTokens ? `Token ${token} is not valid.` : 'Token has expired.'}</ErrorMessage>`));
    if (endpoint === 'SendRequest') {
      const account = options.accounts.find((candidate) => candidate.token === token && candidate.queryId === url.searchParams.get('q'));
      if (!account) return refuse();
      const reference = randomUUID().replaceAll('-', '').slice(0, 10);
      references.set(reference, { account, polls: 0 });
      return answer.end(response('Success', `<ReferenceCode>${reference}</ReferenceCode><Url>ignored</Url>`));
    }
    if (endpoint === 'GetStatement') {
      const pending = references.get(url.searchParams.get('q') ?? '');
      if (!pending || pending.account.token !== token) return refuse();
      if (pending.polls++ < (options.inProgressPolls ?? 1)) {
        return answer.end(response('Warn', '<ErrorCode>1019</ErrorCode><ErrorMessage>Statement generation in progress. Please try again shortly.</ErrorMessage>'));
      }
      return answer.end(pending.account.statement);
    }
    answer.statusCode = 404;
    answer.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/AccountManagement/FlexWebService`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
