// Near-duplicate candidates by MinHash LSH over a question's pg_trgm trigrams.
//
// pg_trgm's similarity() is the Jaccard index of two questions' trigram sets
// (show_trgm). MinHash keeps, for each of BANDS x ROWS_PER_BAND hash
// permutations, the smallest hash of the set's trigrams; two sets agree on
// one such minimum with probability equal to their Jaccard index s, so they
// share at least one band (ROWS_PER_BAND minima in a row) with probability
// 1 - (1 - s^ROWS_PER_BAND)^BANDS:
//
//   similarity   0.7    0.8       0.85       0.9
//   found        97.5%  99.96%    99.9992%   1 - 2e-8
//
// So bands serve thresholds from BANDS_MIN_THRESHOLD up; an import with a
// lower threshold is looked up exactly through the trigram index instead
// (batch.ts), slower but missing nothing. Each band is one key in the bands'
// GIN index, written per insert and read per lookup: 20 bands cost two thirds
// of the 30 stored before migration 000024 (whose first 20 are these, as the
// seeds below come in sequence).
//
// Questions sharing a band are only candidates: pg_trgm similarity() decides
// (batch.ts). Trigram sets always come from Postgres (show_trgm), so the
// signature and the exact check see the same trigrams.

/** Bands per signature. */
export const BANDS = 20;
/** Minima per band. */
export const ROWS_PER_BAND = 5;
/** The lowest similarity threshold an import may choose. */
export const MIN_SIMILARITY_THRESHOLD = 0.5;
/** The lowest threshold looked up by bands; below it a near duplicate would be missed too often (2.5% at 0.7). */
export const BANDS_MIN_THRESHOLD = 0.8;

const HASHES = BANDS * ROWS_PER_BAND;

/** Fixed seeds, one per hash function (xorshift32 from a fixed start): stored signatures depend on them. */
const SEEDS = (() => {
  let state = 0x9e3779b9;
  return Uint32Array.from({ length: HASHES }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  });
})();

/** FNV-1a over UTF-16 code units. */
function trigramHash(trigram: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < trigram.length; i++) {
    hash ^= trigram.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser of (hash xor seed): one hash function per seed, all in 32-bit integer arithmetic. */
function mix(hash: number, seed: number): number {
  let h = hash ^ seed;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The question's bands: BANDS keys, each the band's index and a 32-bit hash
 * of its minima (band * 2^32 + hash, so bands never collide with each
 * other). Empty for a question without trigrams (it can only be an exact duplicate).
 */
export function questionBands(trigrams: readonly string[]): number[] {
  if (trigrams.length === 0) return [];
  const hashes = trigrams.map(trigramHash);
  const bands: number[] = [];
  for (let band = 0; band < BANDS; band++) {
    let key = 0x811c9dc5;
    for (let row = 0; row < ROWS_PER_BAND; row++) {
      const seed = SEEDS[band * ROWS_PER_BAND + row]!;
      let min = 0xffffffff;
      for (const hash of hashes) {
        const value = mix(hash, seed);
        if (value < min) min = value;
      }
      key = Math.imul(key ^ min, 0x01000193);
    }
    bands.push(band * 2 ** 32 + (key >>> 0));
  }
  return bands;
}

/** pg_trgm's similarity() of two trigram sets (each without repeats, as show_trgm gives them), as a real. */
export function trigramSimilarity(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [small, large] = a.length <= b.length ? [a, b] : [b, a];
  const set = new Set(large);
  let shared = 0;
  for (const trigram of small) if (set.has(trigram)) shared++;
  return Math.fround(shared / (a.length + b.length - shared));
}
