/**
 * The words of every notification, shared by all channels (in-app and email).
 * Pure functions of the facts, so each channel renders the same text and
 * tests need no database. Output is plain text; a channel that sends HTML
 * must escape it (reasons and names come from other services).
 */
export const DEFAULT_LOCALE = 'en-US';

/** An amount in minor units (cents for USD, yen for JPY) and an ISO 4217 code. */
export interface Money {
  amount: number;
  currency: string;
}

export type OrderUpdateStatus = 'CONFIRMED' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED' | 'REJECTED';

/** What is known about an order when one of its status changes is announced. */
export interface OrderUpdateFacts {
  orderId: string;
  status: OrderUpdateStatus;
  /** Units ordered, when OrderPlaced was seen. */
  itemCount?: number | null;
  /** What the customer pays, once the order was confirmed. */
  total?: Money | null;
  reason?: string | null;
}

export interface RenderedMessage {
  subject: string;
  body: string;
}

/** Customers recognise an order by the start of its id, as shown in the apps. */
export const shortOrderRef = (orderId: string): string => orderId.slice(0, 8);

/**
 * Formats minor units in the currency's own number of decimals (2 for USD,
 * 0 for JPY, 3 for KWD), as Intl knows them, so no currency table is kept here.
 */
export function formatMoney(money: Money, locale = DEFAULT_LOCALE): string {
  let format: Intl.NumberFormat;
  try {
    format = cached(
      `${locale}|currency|${money.currency}`,
      () => new Intl.NumberFormat(locale, { style: 'currency', currency: money.currency }),
    );
  } catch {
    // Not a well-formed currency code: still say something true rather than fail the notification.
    return `${(money.amount / 100).toFixed(2)} ${money.currency}`;
  }
  const decimals = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amount / 10 ** decimals);
}

function formatItemCount(count: number, locale: string): string {
  const plural = cached(`${locale}|plural`, () => new Intl.PluralRules(locale));
  const number = cached(`${locale}|number`, () => new Intl.NumberFormat(locale));
  return `${number.format(count)} ${plural.select(count) === 'one' ? 'item' : 'items'}`;
}

/**
 * Intl formatters by locale and currency. Making one costs a fraction of a
 * millisecond (ICU loads its data), more than the rest of a notification's
 * rendering; there are a handful of locales and currencies, and the bound
 * keeps odd codes from another service from growing it without end.
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.PluralRules>();
const MAX_FORMATTERS = 64;

function cached<T extends Intl.NumberFormat | Intl.PluralRules>(key: string, make: () => T): T {
  const known = formatters.get(key) as T | undefined;
  if (known) return known;
  const made = make();
  if (formatters.size < MAX_FORMATTERS) formatters.set(key, made);
  return made;
}

/** "Your order of 2 items totalling $59.98", with what is known of it. */
function describeOrder(facts: OrderUpdateFacts, locale: string): string {
  const parts: string[] = [];
  if (facts.itemCount) parts.push(`of ${formatItemCount(facts.itemCount, locale)}`);
  if (facts.total) parts.push(`totalling ${formatMoney(facts.total, locale)}`);
  return parts.length ? `Your order ${parts.join(' ')}` : `Your order ${shortOrderRef(facts.orderId)}`;
}

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

function because(reason: string | null | undefined, lead: string): string {
  const trimmed = reason?.trim();
  return trimmed ? ` ${lead} ${sentence(trimmed)}` : '';
}

export function renderOrderUpdate(facts: OrderUpdateFacts, locale = DEFAULT_LOCALE): RenderedMessage {
  const ref = shortOrderRef(facts.orderId);
  const order = describeOrder(facts, locale);
  switch (facts.status) {
    case 'CONFIRMED':
      return { subject: `Order ${ref} confirmed`, body: `${order} is confirmed.` };
    case 'PAID': {
      const payment = facts.total ? `your payment of ${formatMoney(facts.total, locale)}` : 'your payment';
      return {
        subject: `Payment received for order ${ref}`,
        body: `We have received ${payment} for order ${ref}. We will let you know when it ships.`,
      };
    }
    case 'SHIPPED':
      return { subject: `Order ${ref} shipped`, body: `${order} is on its way.` };
    case 'DELIVERED':
      return { subject: `Order ${ref} delivered`, body: `${order} has been delivered.` };
    case 'CANCELLED':
      return {
        subject: `Order ${ref} cancelled`,
        body: `${order} has been cancelled.${because(facts.reason, 'Reason:')}`,
      };
    case 'REJECTED':
      return {
        subject: `Order ${ref} could not be accepted`,
        body: `${order} could not be accepted.${because(facts.reason, 'Reason:')}`,
      };
  }
}

export interface WelcomeFacts {
  /** The name the user signed up with. */
  name: string;
}

/**
 * A name from another service, fit for a subject line: one line, not endless.
 * (Mail headers are encoded by the mailer; this keeps the words readable.)
 */
function displayName(name: string): string | null {
  const oneLine = name.replace(/\s+/g, ' ').trim();
  if (!oneLine) return null;
  return oneLine.length > 60 ? `${oneLine.slice(0, 59)}…` : oneLine;
}

export function renderWelcome(facts: WelcomeFacts): RenderedMessage {
  const name = displayName(facts.name);
  return {
    subject: name ? `Welcome to Storefront, ${name}` : 'Welcome to Storefront',
    body:
      `${name ? `Hi ${name}, thanks` : 'Thanks'} for signing up. ` +
      'We will write to you here when your orders are confirmed, shipped and delivered. ' +
      'You can turn email notifications off in your account settings at any time.',
  };
}
