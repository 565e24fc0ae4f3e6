/**
 * The sample chat page (sample/public) as a test drives it: join a room, send,
 * read what the page shows. Waits are Playwright's, bounded by the page's
 * default timeout (see browser.ts).
 */
import type { Page, WebSocket as PageWebSocket } from 'playwright-core';
import type { BrowserSession } from './browser.js';

export interface ShownMessage {
  readonly user: string;
  readonly body: string;
  readonly mine: boolean;
}

export class SamplePage {
  /** Every frame this tab sent on its WebSockets, as text. */
  readonly sentFrames: string[] = [];

  private constructor(readonly page: Page) {
    page.on('websocket', (socket: PageWebSocket) => {
      socket.on('framesent', (frame) => {
        if (typeof frame.payload === 'string') this.sentFrames.push(frame.payload);
      });
    });
  }

  /** Opens the page at `baseUrl` in a new tab of `session`. */
  static async open(session: BrowserSession, baseUrl: string): Promise<SamplePage> {
    const page = await session.open(baseUrl);
    return new SamplePage(page);
  }

  /** Fills the join form and presses Join; resolves once the page shows the outcome (joined or refused). */
  async join(user: string, room: string): Promise<'joined' | 'refused'> {
    await this.page.fill('#user', user);
    await this.page.fill('#room', room);
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
