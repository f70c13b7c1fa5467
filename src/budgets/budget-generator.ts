// Deterministic, realistic budgets in YNAB's wire shape: the local YNAB server
// (tests, bench) and the sample provider (`npm start` offline) both serve them.
// Payees come in near-identical name variants of one merchant ("Amazon.com",
// "AMAZON.COM*2K4L9", "Amazon.com #1234") and each merchant has a usual
// category, so suggestions drawn from payee history have something to find; a
// share of transactions is left uncategorised for them to fill.
import type { YnabAccount, YnabBudget, YnabCategory, YnabCategoryGroup, YnabPayee, YnabTransaction } from './ynab-wire.ts';

export interface GenerateBudgetOptions {
  /** Same seed, same budget (ids included). */
  seed: number;
  /** Transactions, spread over the two years before `endDate`. */
  transactions: number;
  /** Default 3. */
  accounts?: number;
  /** Payees other than the transfer payees; past ~30 they are name variants of the same merchants. Default 60. */
  payees?: number;
  /** Default 20 (at most the 22 named ones; more get numbered names). */
  categories?: number;
  /** Share (0..1) of transactions without a category. Default 0.1. */
  uncategorisedShare?: number;
  /** Default: derived from the seed. */
  id?: string;
  name?: string;
  /** Date of the newest transaction (YYYY-MM-DD); fixed so that a seed always gives the same budget. */
  endDate?: string;
}

const CATEGORY_GROUPS: Array<[string, string[]]> = [
  ['Bills', ['Rent', 'Electricity', 'Internet', 'Phone', 'Insurance']],
  ['Everyday', ['Groceries', 'Dining Out', 'Transport', 'Fuel', 'Household']],
  ['Lifestyle', ['Shopping', 'Entertainment', 'Subscriptions', 'Travel', 'Gifts']],
  ['Health', ['Pharmacy', 'Fitness', 'Doctor']],
  ['Savings', ['Emergency Fund', 'Vacation', 'Car Replacement', 'Education']],
];

/** Merchant, its usual category, its usual amount (currency units). */
const MERCHANTS: Array<[string, string, number]> = [
  ['Amazon.com', 'Shopping', 45],
  ['Whole Foods Market', 'Groceries', 85],
  ["Trader Joe's", 'Groceries', 60],
  ['Safeway', 'Groceries', 70],
  ['Starbucks', 'Dining Out', 7],
  ['Chipotle', 'Dining Out', 14],
  ["McDonald's", 'Dining Out', 11],
  ['Uber', 'Transport', 22],
  ['Lyft', 'Transport', 19],
  ['Shell', 'Fuel', 55],
  ['Chevron', 'Fuel', 52],
  ['Netflix', 'Subscriptions', 15],
  ['Spotify', 'Subscriptions', 11],
  ['Apple.com/bill', 'Subscriptions', 3],
  ['Comcast', 'Internet', 80],
  ['Verizon Wireless', 'Phone', 65],
  ['PG&E', 'Electricity', 120],
  ['Geico', 'Insurance', 140],
  ['Oakwood Property Mgmt', 'Rent', 1850],
  ['CVS Pharmacy', 'Pharmacy', 24],
  ['Walgreens', 'Pharmacy', 18],
  ['Planet Fitness', 'Fitness', 25],
  ['Target', 'Household', 48],
  ['Home Depot', 'Household', 90],
  ['IKEA', 'Household', 150],
  ['AMC Theatres', 'Entertainment', 32],
  ['Steam Games', 'Entertainment', 20],
  ['Delta Air Lines', 'Travel', 380],
  ['Airbnb', 'Travel', 260],
  ['Etsy', 'Gifts', 38],
  ['Kaiser Permanente', 'Doctor', 40],
];

const ACCOUNTS: Array<[string, string]> = [
  ['Checking', 'checking'],
  ['Visa Rewards', 'creditCard'],
  ['Savings', 'savings'],
  ['Amex Blue', 'creditCard'],
  ['Cash', 'cash'],
];

/** mulberry32: a seeded PRNG in five lines; Math.random cannot be seeded. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID-shaped id (YNAB's ids are UUIDs) drawn from the generator. */
function uuid(random: () => number): string {
  let hex = '';
  for (let i = 0; i < 32; i++) hex += Math.floor(random() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** The name of a merchant's `variant`-th payee: the plain name first, then the ways card statements spell it. */
function payeeName(merchant: string, variant: number, random: () => number): string {
  const digits = () => String(1000 + Math.floor(random() * 9000));
  const code = () => Math.floor(random() * 36 ** 5).toString(36).toUpperCase().padStart(5, '0');
  switch (variant % 4) {
    case 0:
      return variant === 0 ? merchant : `${merchant} ${digits()}`;
    case 1:
      return `${merchant.toUpperCase()}*${code()}`;
    case 2:
      return `${merchant} #${digits()}`;
    default:
      return merchant.toUpperCase();
  }
}

export function generateBudget(options: GenerateBudgetOptions): YnabBudget {
  const random = prng(options.seed);
  const accountCount = Math.max(1, options.accounts ?? 3);
  const payeeCount = Math.max(1, options.payees ?? 60);
  const categoryCount = Math.max(1, options.categories ?? 20);
  const uncategorisedShare = options.uncategorisedShare ?? 0.1;
  const endDay = Date.parse(`${options.endDate ?? '2026-11-30'}T00:00:00Z`) / 86_400_000;
  const budgetId = options.id ?? uuid(random);

  const accounts: YnabAccount[] = [];
  for (let i = 0; i < accountCount; i++) {
    const [name, type] = ACCOUNTS[i % ACCOUNTS.length]!;
    const suffix = i < ACCOUNTS.length ? '' : ` ${Math.floor(i / ACCOUNTS.length) + 1}`;
    accounts.push({ id: uuid(random), name: name + suffix, type, on_budget: true, closed: false, balance: 0, deleted: false });
  }

  const categoryGroups: YnabCategoryGroup[] = [];
  const categories: YnabCategory[] = [];
  const flat = CATEGORY_GROUPS.flatMap(([group, names]) => names.map((name) => [group, name] as const));
  for (let i = 0; i < categoryCount; i++) {
    const [groupName, baseName] = flat[i % flat.length]!;
    const name = i < flat.length ? baseName : `${baseName} ${Math.floor(i / flat.length) + 1}`;
    let group = categoryGroups.find((candidate) => candidate.name === groupName);
    if (!group) {
      group = { id: uuid(random), name: groupName, hidden: false, deleted: false, categories: [] };
      categoryGroups.push(group);
    }
    const category: YnabCategory = { id: uuid(random), category_group_id: group.id, category_group_name: groupName, name, hidden: false, deleted: false };
    group.categories.push(category);
    categories.push(category);
  }

  interface GeneratedPayee {
    payee: YnabPayee;
    merchant: number;
  }
  const payees: GeneratedPayee[] = [];
  for (let i = 0; i < payeeCount; i++) {
    const merchant = i % MERCHANTS.length;
    const name = payeeName(MERCHANTS[merchant]![0], Math.floor(i / MERCHANTS.length), random);
    payees.push({ payee: { id: uuid(random), name, transfer_account_id: null, deleted: false }, merchant });
  }
  const transferPayees: YnabPayee[] = accounts.map((account) => ({
    id: uuid(random),
    name: `Transfer : ${account.name}`,
    transfer_account_id: account.id,
    deleted: false,
  }));

  // A merchant's usual category, or (with fewer categories than named ones) a stable stand-in.
  const usualCategory = (merchant: number) =>
    categories.find((category) => category.name === MERCHANTS[merchant]![1]) ?? categories[merchant % categories.length]!;

  const transactions: YnabTransaction[] = [];
  const total = Math.max(0, options.transactions);
  for (let i = 0; i < total; i++) {
    // Skewed towards the first payees: a few merchants carry most of the history, as in real budgets.
    const { payee, merchant } = payees[Math.floor(random() ** 2 * payees.length)]!;
    const account = accounts[Math.floor(random() * accounts.length)]!;
    const draw = random();
    const category =
      draw < uncategorisedShare ? null : draw < uncategorisedShare + (1 - uncategorisedShare) * 0.85 ? usualCategory(merchant) : categories[Math.floor(random() * categories.length)]!;
    const day = endDay - Math.floor(((total - 1 - i) * 730) / Math.max(1, total));
    const amount = -Math.round(MERCHANTS[merchant]![2] * (0.5 + random()) * 100) * 10;
    transactions.push({
      id: uuid(random),
      date: new Date(day * 86_400_000).toISOString().slice(0, 10),
      amount,
      memo: random() < 0.05 ? 'split with Sam' : null,
      cleared: 'cleared',
      approved: category !== null,
      account_id: account.id,
      payee_id: payee.id,
      payee_name: payee.name,
      category_id: category?.id ?? null,
      category_name: category?.name ?? null,
      transfer_account_id: null,
      deleted: false,
    });
  }

  return {
    id: budgetId,
    name: options.name ?? `Generated budget ${options.seed}`,
    last_modified_on: `${options.endDate ?? '2026-11-30'}T12:00:00.000Z`,
    currency_format: { iso_code: 'USD' },
    accounts,
    category_groups: categoryGroups,
    payees: [...payees.map((generated) => generated.payee), ...transferPayees],
    transactions,
  };
}
