/**
 * The playground in a real browser: headless Chromium from Debian (/usr/bin/chromium, which .ci/run installs when
 * missing) driven by playwright-core. Commands are typed into the page as simulated members, a key request filed by
 * Bob is approved by Alice and Carol (quorum 2) and its card reaches "done" in place; a `user` sees no keys; with an
 * admin key the page is not there. The screenshot README.md shows is taken here (docs/playground.png).
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Quartermaster, startQuartermaster } from '../../src/main.js';
import { startTestApp, writePolicy } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve(import.meta.dirname, '../../docs/playground.png');
const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  quorum: 2
  expires_after: 24h
`;

let qm: Quartermaster;
let drop: () => Promise<void>;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does.`);
  }
  const db = await createTestDatabaseUrl();
  drop = db.drop;
  qm = await startQuartermaster({
    env: { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', QM_POLICY: writePolicy(POLICY) },
    print: () => {},
    skipMigrate: true,
    scheduler: false,
    approvalBackoffMs: () => 100,
    logDestination: { write: () => true } as never,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await browser?.close();
  await qm?.close();
  await drop?.();
});

async function as(member: string, command?: string): Promise<void> {
  await page.selectOption('#member', member);
  if (command) {
    await page.fill('#text', command);
    await page.press('#text', 'Enter');
  }
}

/** The message "only you" see as the selected member, newest first, once its text matches. */
const onlyYou = (re: RegExp) => page.locator('#channel article.ephemeral:not(.hidden)').filter({ hasText: re }).last();

describe('the playground in Chromium', () => {
  it('files a key request as Bob, approved by Alice and Carol, the card reaching done; a user sees no keys', async () => {
    await page.goto(`${qm.url}/`);
    await expect(page.title()).resolves.toBe('Quartermaster playground');

    await as('UBOB', '/qm help');
    await onlyYou(/Quartermaster help/).waitFor();
    await as('UBOB', '/qm keys request prod bob-browser "try the playground" 30d');
    const card = page.locator('#channel article.channel').filter({ hasText: 'bob-browser' });
    await card.getByRole('button', { name: 'Approve' }).waitFor();

    // Bob cannot approve his own request: told so, the card stays pending.
    await card.getByRole('button', { name: 'Approve' }).click();
    await onlyYou(/own request/i).waitFor();

    await as('UALICE');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.filter({ hasText: '(1/2)' }).waitFor();
    await as('UCAROL');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.filter({ hasText: 'Done:' }).waitFor({ timeout: 15_000 });
    expect(await card.getByRole('button').count()).toBe(0);

    // Only Carol's view shows Carol's replies: Bob's refusal is hidden from her.
    expect(
      await page
        .locator('#channel article.ephemeral:not(.hidden)')
        .filter({ hasText: /own request/i })
        .count(),
    ).toBe(0);

    await as('UDAVE', '/qm keys list');
    const refused = onlyYou(/keys list/);
    await refused.filter({ hasText: 'needs the developer org role or higher' }).waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: what Dave sees, without the messages hidden from him
    const visible = await page.locator('#channel').innerText();
    expect(visible).not.toContain('sk-ant-api03-');

    await as('UBOB', '/qm whoami');
    await onlyYou(/bob@example\.com/).waitFor();
    await page.locator('#dms article:not(.hidden)').filter({ hasText: 'Done' }).first().waitFor();
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(existsSync(SCREENSHOT)).toBe(true);
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme.split('\n').slice(0, 5).join('\n')).toContain('](docs/playground.png)');
    expect(readme).toContain('open http://127.0.0.1:3000 after `npm start`');
  });

  it('is absent with an admin key: / is the status page', async () => {
    const t = await startTestApp();
    try {
      const p = await browser.newPage();
      await p.goto(`${t.url}/`);
      await expect(p.locator('h1').textContent()).resolves.toContain('Quartermaster');
      expect(await p.locator('#member').count()).toBe(0);
      const events = await p.request.get(`${t.url}/playground/events`);
      expect(events.status()).toBe(404);
      await p.close();
    } finally {
      await t.close();
    }
  });
});
