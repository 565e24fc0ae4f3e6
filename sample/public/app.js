// The chat page: a signed connect token from the server, one phoenix Socket per name and
// transport, one channel per room with the client's Presence showing who is in it.
// Rooms keep history: the channel is made with withHistory (nestjs-channels/client), so a tab whose
// connection drops gets every message it missed when it rejoins, once each and in order.
// Everything the server says (connection state, refusals, error replies) is shown on the page.
import { LongPoll, Presence, Socket } from '/phoenix.mjs';
import { withHistory } from '/history.js';

/** How long WebSocket gets to open and answer a ping before the client falls back to long-poll. */
const LONG_POLL_FALLBACK_MS = 2500;

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $('connection'),
  roomStatus: $('room-status'),
  messages: $('messages'),
  joinForm: $('join-form'),
  user: $('user'),
  room: $('room'),
  transport: $('transport'),
  sendForm: $('send-form'),
  body: $('body'),
  send: $('send'),
  online: $('online'),
  onlineCount: $('online-count'),
  onlineEmpty: $('online-empty'),
};

/**
 * The connection: who, over which transport, with which token. `opened` once
 * it has been open; `renewed` while it runs on a token that replaced a
 * refused one (a second refusal then stops it).
 */
let current = null;
/** The room on screen: its name, topic, channel and Presence; or null. */
let room = null;
/** Notices to show once the room's history is on screen (each (re)join redraws the list). */
let afterJoin = [];
/** Counts presses of Join, so that a slow token request of an older press is dropped. */
let presses = 0;

// ── What the page shows ────────────────────────────────────────────────────

function showConnection(state, text, transport = '') {
  ui.connection.dataset.state = state;
  ui.connection.dataset.transport = transport;
  ui.connection.textContent = text;
}

function showRoom(state, text) {
  ui.roomStatus.dataset.state = state;
  ui.roomStatus.textContent = text;
}

function allowSending(allowed) {
  ui.body.disabled = !allowed;
  ui.send.disabled = !allowed;
  if (allowed) ui.body.focus();
}

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function timeOf(at) {
  return new Date(typeof at === 'number' ? at : Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** A chat message; text only, never HTML. */
function addMessage({ user, body, at, mine }) {
  const item = document.createElement('li');
  item.className = mine ? 'message mine' : 'message';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = mine ? `${user} (you)` : user;
  const when = document.createElement('time');
  when.textContent = timeOf(at);
  meta.append(who, when);
  const text = document.createElement('p');
  text.className = 'body';
  text.textContent = body;
  item.append(meta, text);
  ui.messages.append(item);
  scrollToEnd();
}

/** A line from the page itself: joins, refusals, errors. */
function addNotice(text, kind = 'info') {
  const item = document.createElement('li');
  item.className = `notice ${kind}`;
  item.textContent = text;
  ui.messages.append(item);
  scrollToEnd();
}

/** A colour of its own for each name, the same on every reload. */
function hueOf(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

/** Who is in the room, from the client's Presence: one line per user, however many tabs. */
function showOnline(presence, me) {
  const people =
    presence === null
      ? []
      : presence.list((user, { metas }) => ({
          user,
          tabs: metas.length,
          longpoll: metas.some((meta) => meta.transport === 'longpoll'),
        }));
  people.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  ui.online.replaceChildren(
    ...people.map(({ user, tabs, longpoll }) => {
      const item = document.createElement('li');
      item.className = 'person';
      item.dataset.user = user;
      item.dataset.tabs = String(tabs);
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.style.setProperty('--hue', String(hueOf(user)));
      avatar.textContent = user.slice(0, 1).toUpperCase();
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = user === me ? `${user} (you)` : user;
      const details = document.createElement('span');
      details.className = 'details';
      if (tabs > 1) details.append(badge(`${tabs} tabs`, 'tabs'));
      if (longpoll) details.append(badge('long-poll', 'longpoll'));
      item.append(avatar, name, details);
      return item;
    }),
  );
  ui.onlineCount.textContent = String(people.length);
  ui.onlineCount.hidden = presence === null;
  ui.onlineEmpty.hidden = presence !== null;
}

function badge(text, kind) {
  const element = document.createElement('span');
  element.className = `badge ${kind}`;
  element.textContent = text;
  return element;
}

// ── Connect tokens ─────────────────────────────────────────────────────────

/** A short-lived connect token for `user`; a real app's endpoint would check who is asking. */
async function requestToken(user) {
  const response = await fetch('/api/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || typeof body?.token !== 'string') {
    throw new Error(body?.message ?? `the token endpoint answered HTTP ${response.status}`);
  }
  return body.token;
}

/**
 * Why the server refuses `token` ({reason, message}), or null when it accepts
 * it or cannot be asked. A browser does not tell a script why a WebSocket
 * failed (a refusal looks like a network error), so the page asks.
 */
async function refusalOf(token) {
  try {
    const response = await fetch('/api/token', { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 401) return null;
    const body = await response.json().catch(() => ({}));
    return { reason: body.reason ?? 'invalid', message: body.message ?? 'the token was refused' };
  } catch {
    // the server cannot be reached: phoenix.js keeps retrying, nothing to add
    return null;
  }
}

// ── Connection ─────────────────────────────────────────────────────────────

function transportOf(socket) {
  return socket.transport === LongPoll ? 'longpoll' : 'websocket';
}

/** A phoenix Socket for `user` over `transport`, not yet connected. */
function openConnection(user, transport, token, renewed = false) {
  const connection = { user, transport, token, socket: null, opened: false, renewed, checking: false };
  const socket = new Socket('/socket', {
    // Kept out of the URL; a function, so every reconnect offers the connection's current token.
    authToken: () => connection.token,
    ...(transport === 'longpoll' ? { transport: LongPoll } : { longPollFallbackMs: LONG_POLL_FALLBACK_MS }),
  });
  socket.onOpen(() => {
    if (current !== connection) return;
    connection.opened = true;
    connection.renewed = false;
    const over = transportOf(socket);
    showConnection('open', `connected as ${user} · ${over === 'longpoll' ? 'long-poll' : 'WebSocket'}`, over);
  });
  socket.onError(() => {
    if (current !== connection) return;
    showConnection('error', connection.opened ? 'connection lost, retrying…' : 'cannot connect, retrying…');
    checkToken(connection);
  });
  socket.onClose(() => {
    if (current === connection && connection.opened) showConnection('connecting', 'reconnecting…');
  });
  connection.socket = socket;
  return connection;
}

/**
 * After a failed connection attempt: when the server refuses the token (it
 * expired, or it is not one the server signed), stop offering it. A first
 * refusal gets a new token and a new connection; a second one is shown.
 */
async function checkToken(connection) {
  if (connection.checking) return;
  connection.checking = true;
  const refusal = await refusalOf(connection.token);
  connection.checking = false;
  if (current !== connection || refusal === null) return;
  connection.socket.disconnect();
  if (connection.renewed) {
    refuse(connection, refusal.message);
    return;
  }
  let token;
  try {
    token = await requestToken(connection.user);
  } catch (error) {
    if (current === connection) refuse(connection, error.message);
    return;
  }
  if (current !== connection) return;
  // A new Socket rather than a new token for the old one: after a refused first attempt the
  // old one has fallen back to long-poll, and would stay there.
  current = openConnection(connection.user, connection.transport, token, true);
  current.socket.connect();
  const notice = `The server refused the connect token (${refusal.message}); the page got a new one.`;
  if (room === null) {
    addNotice(notice);
  } else {
    afterJoin.push(notice);
    joinRoom(room.name);
  }
}

/** The server refuses this user's tokens: stop, say so, and let Join start over. */
function refuse(connection, message) {
  leaveRoom();
  connection.socket.disconnect();
  current = null;
  showConnection('error', 'token refused');
  showRoom('refused', `not connected: connect token refused (${message})`);
  addNotice(`The server refused the connect token: ${message}. Press Join to try again.`, 'error');
}

// ── Rooms ──────────────────────────────────────────────────────────────────

function leaveRoom() {
  if (room === null) return;
  room.channel.leave();
  room = null;
  allowSending(false);
  showOnline(null);
}

function joinRoom(name) {
  leaveRoom();
  ui.messages.replaceChildren();
  const { socket, user } = current;
  const topic = `room:${name}`;
  const channel = withHistory(socket, topic);
  // `recent`: the messages of the last join reply, to redraw from if the server says some were lost.
  const joining = { name, topic, channel, presence: new Presence(channel), joined: false, greeted: false, recent: [] };
  room = joining;

  joining.presence.onSync(() => {
    if (room === joining) showOnline(joining.presence, user);
  });
  channel.on('new_msg', (message) => addMessage(message));
  channel.on('hello', () => {
    if (!joining.greeted) addNotice(`Welcome, ${user}. Everyone in ${topic} sees what you send here.`);
    joining.greeted = true;
  });
  // More was missed than the room keeps (or the server lost it): start over from the join reply.
  channel.on('history_gap', () => {
    if (room === joining) showHistory(joining.recent, user);
  });
  // phoenix.js rejoins by itself after a lost connection or a crashed channel; say so while it does.
  channel.onError(() => {
    if (room !== joining) return;
    allowSending(false);
    showRoom('joining', `lost ${topic}, rejoining…`);
  });

  showRoom('joining', `joining ${topic}…`);
  channel
    .join()
    .receive('ok', (reply) => {
      if (room !== joining) return;
      // Runs again after each rejoin; the list is drawn from the reply only the first time: after a
      // rejoin the server sends what this tab missed, right after the reply.
      joining.recent = reply.history ?? [];
      if (!joining.joined) showHistory(joining.recent, user);
      joining.joined = true;
      for (const notice of afterJoin.splice(0)) addNotice(notice);
      showRoom('joined', `in ${topic}`);
      allowSending(true);
    })
    .receive('error', (reply) => {
      if (room !== joining) return;
      // A refused join would be retried by phoenix.js forever; leaving stops it.
      leaveRoom();
      const reason = reply?.reason ?? JSON.stringify(reply);
      showRoom('refused', `${topic} refused: ${reason}`);
      addNotice(`The server refused ${topic}: ${reason}. Try another room.`, 'error');
    })
    .receive('timeout', () => {
      if (room === joining) showRoom('joining', `no answer from ${topic} yet, still trying…`);
    });
}

/** Redraws the message list from a join reply's history. */
function showHistory(messages, user) {
  ui.messages.replaceChildren();
  for (const message of messages) addMessage({ ...message, mine: message.user === user });
}

/** Joins `name` as `user` over `transport`, with a new token and connection when either changed. */
async function enter(user, name, transport) {
  const press = ++presses;
  if (current === null || current.user !== user || current.transport !== transport) {
    leaveRoom();
    showRoom('joining', `joining room:${name}…`);
    current?.socket.disconnect();
    current = null;
    afterJoin = [];
    showConnection('connecting', 'getting a connect token…');
    let token;
    try {
      token = await requestToken(user);
    } catch (error) {
      if (press !== presses) return;
      showConnection('error', 'no connect token');
      showRoom('refused', `no connect token: ${error.message}`);
      return;
    }
    if (press !== presses) return;
    current = openConnection(user, transport, token);
    showConnection('connecting', 'connecting…');
    current.socket.connect();
  }
  joinRoom(name);
}

function sendMessage(body) {
  if (room === null) return;
  room.channel
    .push('new_msg', { body })
    .receive('error', (reply) => addNotice(`Not sent: ${reply?.reason ?? JSON.stringify(reply)}`, 'error'))
    .receive('timeout', () => addNotice('Not sent: the server did not answer in time', 'error'));
}

// ── Forms: handled here, never submitted to the server ─────────────────────

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  enter(ui.user.value.trim(), ui.room.value.trim(), ui.transport.value);
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const body = ui.body.value.trim();
  if (body === '') return;
  sendMessage(body);
  ui.body.value = '';
});

// ?transport=longpoll (or websocket) picks the transport.
const wanted = new URLSearchParams(location.search).get('transport');
if (wanted === 'longpoll' || wanted === 'websocket') ui.transport.value = wanted;
showConnection('idle', 'not connected');
showOnline(null);
ui.user.focus();
