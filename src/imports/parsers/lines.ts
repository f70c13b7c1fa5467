// Splits streamed text (line ends already normalised to \n) into numbered lines.
export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

export async function* readLines(text: AsyncIterable<string>): AsyncGenerator<Line> {
  let rest = '';
  let number = 0;
  for await (const chunk of text) {
    rest += chunk;
    let start = 0;
    for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
      yield { number: ++number, text: rest.slice(start, end) };
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  if (rest !== '') yield { number: ++number, text: rest };
}
