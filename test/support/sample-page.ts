/**
 * The sample chat page (sample/public) as a test drives it: join a room, send,
 * read what the page shows. Waits are Playwright's, bounded by the page's
 * default timeout (see browser.ts).
 */
import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { Page, WebSocket as PageWebSocket } from 'playwright-core';
import { createSampleApp } from '../../sample/create-app.js';
import { launchBrowser, type BrowserSession } from './browser.js';

/** The sample app as `npm start` builds it, on 127.0.0.1 port 0, and a Chromium to open it in. */
export interface RunningSample {
  readonly app: INestApplication;
  readonly port: number;
  /** `http://127.0.0.1:<port>/`, the page. */
  readonly url: string;
  readonly browser: BrowserSession;
  /** Closes the browser, then the app. */
  close(): Promise<void>;
}

export async function startSample(): Promise<RunningSample> {
  const app = await createSampleApp({ logger: ['error'] });
  let browser: BrowserSession | undefined;
  try {
    await app.listen(0, '127.0.0.1');
    browser = await launchBrowser();
  } catch (error) {
    await app.close();
    throw error;
  }
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}/`,
    browser,
    async close() {
      try {
        await browser.close();
      } finally {
        await app.close();
      }
    },
  };
}

export interface ShownMessage {
  readonly user: string;
  readonly body: string;
  readonly mine: boolean;
}

/** A line of the "Online" list: a user and how many tabs they have in the room. */
export interface OnlineUser {
  readonly user: string;
  readonly tabs: number;
  /** The line's badges, e.g. `2 tabs`, `long-poll`. */
  readonly badges: string[];
}

export class SamplePage {
  /** Every frame this tab sent on its WebSockets, as text. */
  readonly sentFrames: string[] = [];
  /** WebSockets this tab tried to open, whether or not they opened. */
  websocketsTried = 0;
  /** Frames this tab received on any WebSocket: none means no WebSocket ever opened. */
  receivedFrames = 0;

  private constructor(readonly page: Page) {
    page.on('websocket', (socket: PageWebSocket) => {
      this.websocketsTried++;
      socket.on('framesent', (frame) => {
        if (typeof frame.payload === 'string') this.sentFrames.push(frame.payload);
      });
      socket.on('framereceived', () => {
        this.receivedFrames++;
      });
    });
  }

  /** Opens the page at `baseUrl` in a new tab of `session`. */
  static async open(session: BrowserSession, baseUrl: string): Promise<SamplePage> {
    const page = await session.open(baseUrl);
    return new SamplePage(page);
  }

  /**
   * Fills the join form (the transport too, when given) and presses Join;
   * resolves once the page shows the outcome (joined or refused).
   */
  async join(user: string, room: string, transport?: 'websocket' | 'longpoll'): Promise<'joined' | 'refused'> {
    await this.page.fill('#user', user);
    await this.page.fill('#room', room);
    if (transport !== undefined) await this.page.selectOption('#transport', transport);
    await this.page.click('#join');
    await this.page.waitForSelector('#room-status[data-state="joined"], #room-status[data-state="refused"]');
    return (await this.roomState()) as 'joined' | 'refused';
  }

  /** Types `body` and presses Enter in the message field. */
  async say(body: string): Promise<void> {
    await this.page.fill('#body', body);
    await this.page.press('#body', 'Enter');
  }

  /** Waits until a message with this body is shown; returns it. */
  async waitForMessage(body: string): Promise<ShownMessage> {
    const item = this.page.locator('#messages .message').filter({ has: this.page.locator('.body', { hasText: body }) });
    await item.first().waitFor();
    return (await this.messages()).find((message) => message.body === body)!;
  }

  /** The chat messages on screen, oldest first. */
  messages(): Promise<ShownMessage[]> {
    return this.page.$$eval('#messages .message', (items) =>
      items.map((item) => ({
        user: (item.querySelector('.who')?.textContent ?? '').replace(/ \(you\)$/, ''),
        body: item.querySelector('.body')?.textContent ?? '',
        mine: item.classList.contains('mine'),
      })),
    );
  }

  /** The page's own notices (joins, refusals, errors), oldest first. */
  notices(): Promise<string[]> {
    return this.page.$$eval('#messages .notice', (items) => items.map((item) => item.textContent ?? ''));
  }

  /** `data-state` of the room line: idle, joining, joined or refused. */
  roomState(): Promise<string | null> {
    return this.page.getAttribute('#room-status', 'data-state');
  }

  roomText(): Promise<string> {
    return this.page.innerText('#room-status');
  }

  /** `data-state` of the connection pill: idle, connecting, open or error. */
  connectionState(): Promise<string | null> {
    return this.page.getAttribute('#connection', 'data-state');
  }

  /** The transport of the open connection, `websocket` or `longpoll`, from the pill; '' when not open. */
  async transport(): Promise<string> {
    return (await this.page.getAttribute('#connection', 'data-transport')) ?? '';
  }

  /** The transport chosen in the join form. */
  chosenTransport(): Promise<string> {
    return this.page.inputValue('#transport');
  }

  /** The "Online" list, in the order shown. */
  online(): Promise<OnlineUser[]> {
    return this.page.$$eval('#online .person', (items) =>
      items.map((item) => ({
        user: item.getAttribute('data-user') ?? '',
        tabs: Number(item.getAttribute('data-tabs')),
        badges: [...item.querySelectorAll('.badge')].map((badge) => badge.textContent ?? ''),
      })),
    );
  }

  /** Waits until the "Online" list shows exactly these users with these tab counts (`{alice: 1, bob: 2}`); returns it. */
  async waitForOnline(expected: Record<string, number>): Promise<OnlineUser[]> {
    const want = Object.entries(expected)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([user, tabs]) => `${user}:${tabs}`)
      .join(',');
    try {
      await this.page.waitForFunction(
        (wanted) => {
          const items: Array<{ getAttribute(name: string): string | null }> = [
            ...(globalThis as any).document.querySelectorAll('#online .person'),
          ];
          return items.map((item) => `${item.getAttribute('data-user')}:${item.getAttribute('data-tabs')}`).join(',') === wanted;
        },
        want,
      );
    } catch (error) {
      throw new Error(`the Online list never showed ${want}; it shows ${JSON.stringify(await this.online())}`, { cause: error });
    }
    return this.online();
  }

  connectionText(): Promise<string> {
    return this.page.innerText('#connection');
  }

  /** The `phx_join` frames this tab sent for `topic` (V2 arrays). */
  joinsSent(topic: string): number {
    return this.sentFrames.filter((frame) => {
      try {
        const parsed = JSON.parse(frame) as unknown[];
        return parsed[2] === topic && parsed[3] === 'phx_join';
      } catch {
        // not a JSON text frame: not a join
        return false;
      }
    }).length;
  }

  /** True when no element in the message list is wider than the list (long lines wrap). */
  wrapsLongLines(): Promise<boolean> {
    return this.page.$eval('#messages', (list) => list.scrollWidth <= list.clientWidth);
  }

  /**
   * A PNG of the tab, message times hidden so that reruns render the same
   * pixels; `size` resizes the tab first (a narrow tab drops the side column).
   */
  async screenshot(size?: { width: number; height: number }): Promise<Buffer> {
    if (size !== undefined) await this.page.setViewportSize(size);
    return this.page.screenshot({ animations: 'disabled', style: '.message time { visibility: hidden; }' });
  }
}
