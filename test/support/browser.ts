/**
 * A real browser for tests: Debian's Chromium (never a downloaded one),
 * driven by `playwright-core`, with a fresh profile per session. Every tab's
 * console errors and uncaught page errors are collected, so a test can assert
 * that a page ran clean. `close()` ends the browser and deletes the profile.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './repo-root.js';

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Every wait in a page (locators, navigation) gives up after this many ms. */
const PAGE_TIMEOUT_MS = 10_000;

export interface BrowserSession {
  readonly context: BrowserContext;
  /** Console errors and uncaught exceptions of every tab, each prefixed with the tab's URL. */
  readonly errors: readonly string[];
  /** Opens `url` in a new tab and waits for its load event. */
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Each tab's viewport. @default 1000 x 680 */
  readonly viewport?: { width: number; height: number };
}

/** Starts Chromium with a fresh profile; fails with the fix when the browser is missing. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (scripts/test.sh does), or set CHROMIUM_PATH`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'nestjs-channels-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: options.viewport ?? { width: 1000, height: 680 },
      timeout: 30_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const errors: string[] = [];
  const watch = (page: Page): void => {
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${page.url()}: console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`${page.url()}: uncaught: ${error.message}`));
  };
  // A persistent context opens with one blank tab: the first `open` uses it.
  let spare: Page | undefined = context.pages()[0];
  let closed = false;
  return {
    context,
    errors,
    async open(url) {
      const page = spare ?? (await context.newPage());
      spare = undefined;
      watch(page);
      await page.goto(url, { waitUntil: 'load' });
      return page;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Writes a PNG under docs/screenshots/, only when its bytes changed, so that a
 * test run that renders the same page leaves the working tree clean.
 */
export async function saveScreenshot(name: string, png: Buffer): Promise<string> {
  const path = join(REPO_ROOT, 'docs', 'screenshots', `${name}.png`);
  const previous = await readFile(path).catch(() => null);
  if (previous === null || !previous.equals(png)) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, png);
  }
  return path;
}

/**
 * Puts screenshots side by side, captioned, and returns one PNG of them: the
 * browser lays them out, so no image library is needed.
 */
export async function sideBySide(session: BrowserSession, shots: ReadonlyArray<{ caption: string; png: Buffer }>): Promise<Buffer> {
  const page = await session.context.newPage();
  try {
    const figures = shots
      .map(
        ({ caption, png }) =>
          `<figure><img src="data:image/png;base64,${png.toString('base64')}"><figcaption>${escapeHtml(caption)}</figcaption></figure>`,
      )
      .join('');
    await page.setContent(
      `<!doctype html><style>
        body { margin: 0; font: 13px system-ui, sans-serif; color: #4a5164; }
        main { display: flex; gap: 20px; width: max-content; padding: 20px; background: #dfe2ea; }
        figure { margin: 0; }
        img { display: block; border-radius: 10px; box-shadow: 0 6px 20px rgba(0,0,0,.15); }
        figcaption { margin-top: 8px; text-align: center; }
      </style><main>${figures}</main>`,
      { waitUntil: 'load' },
    );
    return await page.locator('main').screenshot({ animations: 'disabled' });
  } finally {
    await page.close();
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
