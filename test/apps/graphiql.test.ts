import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually } from '@storefront/platform/testing';
import { launchBrowser, testOutputDir } from '../support/browser.ts';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * GraphiQL as a developer meets it: a real Chromium opens the gateway's root
 * URL, lands on GraphiQL (served from the gateway, nothing from any other
 * origin), runs the catalog query from the default tab, logs in there, puts
 * the token in the Headers editor and follows an order with a subscription
 * over the gateway's WebSocket until the saga confirms it. The screenshot is left in the
 * test output directory.
 */
describe('GraphiQL in a real browser', { timeout: 300_000 }, () => {
  let stack: Stack;
  let journey: OrderJourney;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  before(async () => {
    stack = await startStack();
    journey = await prepareOrderJourney(stack);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** The response pane's text as shown (Monaco renders spaces as no-break spaces). */
  const responseText = async (page: Page) =>
    (await page.locator('.graphiql-response .view-lines').innerText()).replaceAll('\u00a0', ' ');
  /** Replaces the content of a Monaco editor (`variables`, `request-headers`) as a paste would. */
  const fill = async (page: Page, editor: 'variables' | 'request-headers', text: string) => {
    await page.locator(`.monaco-editor[data-uri$="-${editor}.json"]:visible`).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
  };
  const run = async (page: Page, operation?: string) => {
    await page.locator('.graphiql-execute-button').click();
    if (operation) await page.getByRole('menuitem', { name: operation, exact: true }).click();
  };

  it('serves GraphiQL offline and runs a query, a log-in and a live subscription from it', async () => {
    const origin = new URL(stack.gateway.url).origin;
    const page = await browser.context.newPage();
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol.startsWith('http') && url.origin !== origin) elsewhere.push(request.url());
    });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));

    const screenshot = join(testOutputDir(), 'graphiql.png');
    try {
      await followAnOrder(page, origin);
    } finally {
      // What the developer saw, whether the test passed or not.
      await page.screenshot({ path: screenshot }).catch(() => {});
      console.log(`GraphiQL screenshot: ${screenshot}`);
    }
    assert.deepEqual(elsewhere, [], 'the page loads nothing from another origin');
    assert.deepEqual(problems, [], 'no script errors on the page');
  });

  const followAnOrder = async (page: Page, origin: string) => {
    const landed = await page.goto(`${origin}/`);
    assert.equal(landed?.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/graphql', 'GET / redirects to GraphiQL');
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor({ timeout: 60_000 });
    // The schema explorer: introspection is on outside production.
    await page.getByRole('button', { name: /documentation explorer/i }).click();
    await page.getByText('Root Types').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: /documentation explorer/i }).click();

    await run(page, 'Catalog');
    await eventually(
      async () => (await responseText(page)).includes('"products"'),
      30_000,
      'the catalog in the response pane',
    );
    assert.match(await responseText(page), /"name": "/);

    const loggedIn = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.request().postData()?.includes('LogIn') === true,
    );
    await run(page, 'LogIn');
    const token = ((await (await loggedIn).json()) as { data: { logIn: { accessToken: string } } }).data.logIn
      .accessToken;
    await eventually(
      async () => (await responseText(page)).includes('"accessToken"'),
      30_000,
      'the token in the response pane',
    );
    await page.getByRole('button', { name: 'Headers' }).click();
    await fill(page, 'request-headers', JSON.stringify({ Authorization: `Bearer ${token}` }));

    const orderId = await journey.place(token);
    await page.getByRole('tab', { name: /Track/ }).click();
    await page.getByRole('button', { name: 'Variables' }).click();
    // From the order's first event on (`after: 0`): nothing is missed while the saga runs.
    await fill(page, 'variables', JSON.stringify({ id: orderId, after: 0 }));
    // The Headers editor belongs to the tab: the token goes into this one too.
    await page.getByRole('button', { name: 'Headers' }).click();
    await fill(page, 'request-headers', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await run(page);
    // The saga confirms the order on its own: PENDING, then CONFIRMED, pushed to the pane.
    await eventually(async () => (await responseText(page)).includes('"CONFIRMED"'), 90_000, 'CONFIRMED in the pane');
    assert.ok((await responseText(page)).includes(orderId));
    assert.equal(stack.gateway.subscriptions.connections() >= 1, true, 'the subscription came over the WebSocket');
  };

  it('gives an API client JSON, not the page, at the same URL', async () => {
    const res = await fetch(`${stack.gateway.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { __typename: 'Query' } });
  });
});
