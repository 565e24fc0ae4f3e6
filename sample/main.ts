import { Logger } from '@nestjs/common';
import { createSampleApp } from './create-app.js';

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const app = await createSampleApp();
app.enableShutdownHooks();
await app.listen(port, host);
new Logger('Sample').log(`chat sample on http://${host}:${port}/ (WebSocket at /socket/websocket, long-poll at /socket/longpoll)`);
