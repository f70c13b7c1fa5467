// Flex statements have no DTD, so the XML parser processes no entity
// declarations (issue 23, item 7): a statement with a DOCTYPE, a billion laughs
// among them, is refused before anything expands, while XML's five predefined
// entities in real statements decode as before (character references stay as
// written, as before), so derived keys do not change.
import { describe, expect, it } from 'vitest';
import { fetchFlexStatement } from '../../src/portfolios/ibkr/flex-web-service.ts';
import { FlexStatementError, parseFlexStatement } from '../../src/portfolios/ibkr/flex-statement.ts';
import { createOutboundFetch } from '../../src/net/outbound.ts';
import { startHttpServer } from '../support/http-server.ts';
import { ACCOUNT, flexStatement } from '../support/portfolios.ts';

const january = { start: '2026-01-01', end: '2026-01-31' };

/** The sample statement with a DOCTYPE declaring `entities`, and `&name;` as the MSFT dividend's description. */
function withDoctype(entities: string, name: string): string {
  return flexStatement()
    .replace('<?xml version="1.0" encoding="UTF-8"?>', `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE FlexQueryResponse [\n${entities}\n]>`)
    .replace('description="MSFT dividend"', `description="&${name};"`);
}

const BILLION_LAUGHS = [
  '<!ENTITY lol "lol">',
  ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
].join('\n');

describe('entities in Flex statements', () => {
  it('a billion laughs is refused, naming the DOCTYPE, and expands nothing', () => {
    expect(() => parseFlexStatement(withDoctype(BILLION_LAUGHS, 'lol9'), ACCOUNT, january)).toThrow(FlexStatementError);
    expect(() => parseFlexStatement(withDoctype(BILLION_LAUGHS, 'lol9'), ACCOUNT, january)).toThrow(
      'the statement has a DOCTYPE; Flex statements have none, and entity declarations are not processed',
    );
  });

  it('an entity declared in a DTD is never expanded into the imported values', () => {
    expect(() => parseFlexStatement(withDoctype('<!ENTITY company "ACME Corp">', 'company'), ACCOUNT, january)).toThrow(/has a DOCTYPE/);
  });

  it("XML's predefined entities decode once, as before; character references stay as written", () => {
    const xml = flexStatement().replace('description="MSFT dividend"', 'description="AT&amp;T &lt;x&gt; &quot;q&quot; &apos;a&apos; &amp;amp; &#233;"');
    const dividend = parseFlexStatement(xml, ACCOUNT, january).cashTransactions.find((cash) => cash.transactionId === 'C-inside');
    expect(dividend?.description).toBe('AT&T <x> "q" \'a\' &amp; &#233;');
  });

  it('a Flex Web Service answer with a DOCTYPE is refused too', async () => {
    const { url } = await startHttpServer((_request, response) => {
      response.writeHead(200).end(`<?xml version="1.0"?><!DOCTYPE x [${BILLION_LAUGHS}]><FlexStatementResponse><Status>&lol9;</Status></FlexStatementResponse>`);
    });
    const options = { baseUrl: url, token: 't', queryId: 'q', pollIntervalMs: 1, maxPolls: 1, fetch: createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 }) };
    await expect(fetchFlexStatement(options, new AbortController().signal)).rejects.toThrow(
      'the Flex Web Service answer has a DOCTYPE; Flex statements have none, and entity declarations are not processed',
    );
  });
});
