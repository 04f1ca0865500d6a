import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMoney, renderOrderUpdate, renderWelcome, shortOrderRef } from '../src/templates.ts';

const orderId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

describe('notifications: message templates', () => {
  it('formats minor units in each currency’s own decimals', () => {
    assert.equal(formatMoney({ amount: 5998, currency: 'USD' }), '$59.98');
    assert.equal(formatMoney({ amount: 5, currency: 'USD' }), '$0.05');
    assert.equal(formatMoney({ amount: 123456789, currency: 'USD' }), '$1,234,567.89');
    assert.equal(formatMoney({ amount: 1999, currency: 'EUR' }), '€19.99');
    assert.equal(formatMoney({ amount: 5998, currency: 'JPY' }), '¥5,998');
    // ICU versions differ in the space they put beside a code or symbol.
    assert.match(formatMoney({ amount: 5998, currency: 'KWD' }), /^KWD\s5\.998$/);
    assert.match(formatMoney({ amount: 1999, currency: 'EUR' }, 'de-DE'), /^19,99\s€$/);
  });

  it('still says something true for a currency code Intl refuses', () => {
    assert.equal(formatMoney({ amount: 5998, currency: 'dollars' }), '59.98 dollars');
  });

  it('refers to an order by the first 8 characters of its id', () => {
    assert.equal(shortOrderRef(orderId), '1a2b3c4d');
  });

  it('words a confirmation with the item count and total when known', () => {
    const full = renderOrderUpdate({
      orderId,
      status: 'CONFIRMED',
      itemCount: 2,
      total: { amount: 5998, currency: 'USD' },
    });
    assert.deepEqual(full, {
      subject: 'Order 1a2b3c4d confirmed',
      body: 'Your order of 2 items totalling $59.98 is confirmed.',
    });
    const one = renderOrderUpdate({
      orderId,
      status: 'CONFIRMED',
      itemCount: 1,
      total: { amount: 1000, currency: 'GBP' },
    });
    assert.equal(one.body, 'Your order of 1 item totalling £10.00 is confirmed.');
    const unknown = renderOrderUpdate({ orderId, status: 'CONFIRMED' });
    assert.equal(unknown.body, 'Your order 1a2b3c4d is confirmed.');
  });

  it('has a message for every later status, with the reason when there is one', () => {
    const total = { amount: 5998, currency: 'USD' };
    assert.deepEqual(renderOrderUpdate({ orderId, status: 'PAID', itemCount: 2, total }), {
      subject: 'Payment received for order 1a2b3c4d',
      body: 'We have received your payment of $59.98 for order 1a2b3c4d. We will let you know when it ships.',
    });
    assert.equal(
      renderOrderUpdate({ orderId, status: 'SHIPPED', itemCount: 3, total }).body,
      'Your order of 3 items totalling $59.98 is on its way.',
    );
    assert.equal(renderOrderUpdate({ orderId, status: 'DELIVERED', itemCount: 3 }).subject, 'Order 1a2b3c4d delivered');
    assert.equal(
      renderOrderUpdate({ orderId, status: 'CANCELLED', itemCount: 2, reason: 'Cancelled by the customer' }).body,
      'Your order of 2 items has been cancelled. Reason: Cancelled by the customer.',
    );
    assert.deepEqual(renderOrderUpdate({ orderId, status: 'REJECTED', itemCount: 2, reason: 'Not enough stock.' }), {
      subject: 'Order 1a2b3c4d could not be accepted',
      body: 'Your order of 2 items could not be accepted. Reason: Not enough stock.',
    });
    assert.equal(
      renderOrderUpdate({ orderId, status: 'CANCELLED', reason: '  ' }).body,
      'Your order 1a2b3c4d has been cancelled.',
    );
  });

  it('welcomes by name, on one line, and without one when there is none', () => {
    assert.deepEqual(renderWelcome({ name: 'Ada Lovelace' }), {
      subject: 'Welcome to Storefront, Ada Lovelace',
      body:
        'Hi Ada Lovelace, thanks for signing up. We will write to you here when your orders are confirmed, shipped and delivered. ' +
        'You can turn email notifications off in your account settings at any time.',
    });
    assert.equal(renderWelcome({ name: ' Ada\r\n  Lovelace ' }).subject, 'Welcome to Storefront, Ada Lovelace');
    assert.equal(renderWelcome({ name: '   ' }).subject, 'Welcome to Storefront');
    assert.match(renderWelcome({ name: '' }).body, /^Thanks for signing up\./);
    assert.equal(renderWelcome({ name: 'x'.repeat(100) }).subject, `Welcome to Storefront, ${'x'.repeat(59)}…`);
  });
});
