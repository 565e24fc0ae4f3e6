// The chat page: one phoenix Socket per name, one channel per room, nothing else.
// Everything the server says (connection state, join refusals, error replies) is shown on the page.
import { Socket } from '/phoenix.mjs';

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $('connection'),
  roomStatus: $('room-status'),
  messages: $('messages'),
  joinForm: $('join-form'),
  user: $('user'),
  room: $('room'),
  sendForm: $('send-form'),
  body: $('body'),
  send: $('send'),
};

/** The open connection and the name it was opened with. */
let current = null;
/** The channel of the room on screen, or null. */
let channel = null;

// ── What the page shows ────────────────────────────────────────────────────

function showConnection(state, text) {
  ui.connection.dataset.state = state;
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

// ── Connection ─────────────────────────────────────────────────────────────

/** Socket options; a long-poll mode would choose its transport here. */
function socketOptions(user) {
  return { params: { user } };
}

/** The connection for `user`: reused while the name stays the same, replaced when it changes. */
function connectionFor(user) {
  if (current !== null && current.user === user) return current.socket;
  current?.socket.disconnect();
  const socket = new Socket('/socket', socketOptions(user));
  socket.onOpen(() => showConnection('open', `connected as ${user}`));
  socket.onError(() => showConnection('error', 'connection lost, retrying…'));
  socket.onClose(() => {
    if (current?.socket === socket) showConnection('connecting', 'reconnecting…');
  });
  showConnection('connecting', 'connecting…');
  socket.connect();
  current = { user, socket };
  return socket;
}

// ── Rooms ──────────────────────────────────────────────────────────────────

function leaveRoom() {
  if (channel === null) return;
  channel.leave();
  channel = null;
  allowSending(false);
}

function joinRoom(user, room) {
  leaveRoom();
  ui.messages.replaceChildren();
  const topic = `room:${room}`;
  const joining = connectionFor(user).channel(topic, {});
  channel = joining;

  joining.on('new_msg', (message) => addMessage(message));
  joining.on('hello', () => addNotice(`Welcome, ${user}. Everyone in ${topic} sees what you send here.`));
  // phoenix.js rejoins by itself after a lost connection or a crashed channel; say so while it does.
  joining.onError(() => {
    if (channel !== joining) return;
    allowSending(false);
    showRoom('joining', `lost ${topic}, rejoining…`);
  });

  showRoom('joining', `joining ${topic}…`);
  joining
    .join()
    .receive('ok', (reply) => {
      if (channel !== joining) return;
      // Runs again after each rejoin: start over from the history the server sends.
      ui.messages.replaceChildren();
      for (const message of reply.history ?? []) addMessage({ ...message, mine: message.user === user });
      showRoom('joined', `in ${topic}`);
      allowSending(true);
    })
    .receive('error', (reply) => {
      if (channel !== joining) return;
      // A refused join would be retried by phoenix.js forever; leaving stops it.
      joining.leave();
      channel = null;
      const reason = reply?.reason ?? JSON.stringify(reply);
      showRoom('refused', `${topic} refused: ${reason}`);
      addNotice(`The server refused ${topic}: ${reason}. Try another room.`, 'error');
    })
    .receive('timeout', () => {
      if (channel === joining) showRoom('joining', `no answer from ${topic} yet, still trying…`);
    });
}

function sendMessage(body) {
  if (channel === null) return;
  channel
    .push('new_msg', { body })
    .receive('error', (reply) => addNotice(`Not sent: ${reply?.reason ?? JSON.stringify(reply)}`, 'error'))
    .receive('timeout', () => addNotice('Not sent: the server did not answer in time', 'error'));
}

// ── Forms: handled here, never submitted to the server ─────────────────────

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  joinRoom(ui.user.value.trim(), ui.room.value.trim());
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const body = ui.body.value.trim();
  if (body === '') return;
  sendMessage(body);
  ui.body.value = '';
});

showConnection('idle', 'not connected');
ui.user.focus();
